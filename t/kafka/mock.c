/*
 * mock.c - a Kafka cluster for the tests: librdkafka's mock cluster
 * (rdkafka_mock.h) in a process of its own.
 *
 *   t/kafka/mock [-b BROKERS] [-e APIKEY:ERROR:COUNT ...] [TOPIC:PARTITIONS ...]
 *
 * -e answers the next COUNT requests of the API (numbered as in the
 * protocol: 11 is JoinGroup) with the error code ERROR (26,
 * INVALID_SESSION_TIMEOUT, is what a broker says to a session timeout
 * below its group.min.session.timeout.ms). Creates the topics, prints "BOOTSTRAP host:port,..." on
 * stdout and serves until stdin closes or SIGTERM. Clients (kcat, openwit) connect to the printed
 * loopback addresses; consumer groups and committed offsets live as long as this process.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	int brokers = 1, i = 1;
	if (argc > 2 && strcmp(argv[1], "-b") == 0) {
		brokers = atoi(argv[2]);
		i = 3;
	}
	char err[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (rk == NULL) {
		fprintf(stderr, "mock: %s\n", err);
		return 1;
	}
	rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
	if (mc == NULL) {
		fprintf(stderr, "mock: cannot create the cluster\n");
		return 1;
	}
	for (; i + 1 < argc && strcmp(argv[i], "-e") == 0; i += 2) {
		int api, code, count;
		if (sscanf(argv[i + 1], "%d:%d:%d", &api, &code, &count) != 3 || count < 1) {
			fprintf(stderr, "mock: -e %s: want APIKEY:ERROR:COUNT\n", argv[i + 1]);
			return 1;
		}
		for (int n = 0; n < count; n++)
			rd_kafka_mock_push_request_errors(mc, (int16_t)api, 1,
							  (rd_kafka_resp_err_t)code);
	}
	for (; i < argc; i++) {
		char *colon = strrchr(argv[i], ':');
		int parts = colon ? atoi(colon + 1) : 1;
		if (colon)
			*colon = '\0';
		if (rd_kafka_mock_topic_create(mc, argv[i], parts, 1)) {
			fprintf(stderr, "mock: cannot create topic %s\n", argv[i]);
			return 1;
		}
	}
	printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	struct pollfd p = {0, POLLIN, 0};
	while (!stop) {
		if (poll(&p, 1, 200) > 0) {
			char buf[64];
			if (read(0, buf, sizeof(buf)) <= 0)
				break;
		}
	}
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
