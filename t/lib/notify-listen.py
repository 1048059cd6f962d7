#!/usr/bin/env python3
# notify-listen.py ADDRESS - a stand-in for systemd's notification socket
# (sd_notify(3)) for the tests: binds a unix datagram socket at ADDRESS (a
# path, or "@name" in the abstract namespace), prints "listening", then
# each datagram it receives as one JSON string a line, until killed.
import json
import os
import socket
import sys

addr = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
print("listening", flush=True)
while True:
    data = s.recv(4096)
    print(json.dumps(data.decode("utf-8", "replace")), flush=True)
