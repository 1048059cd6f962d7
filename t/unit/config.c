/* config: defaults, nesting, ${VAR}, and errors that name file:line. */
#include "../lib/tap.h"
#include "modules/core/config.h"
#include "modules/core/core.h"

#include <stdlib.h>
#include <unistd.h>

static int64_t port, size;
static int flag, level;
static char *dir;
static const char *const levels[] = {"debug", "info", "warn", NULL};

static ow_directive_t table[] = {
    {"ingestion.http.port", OW_CONF_INT, &port, 0, 65535, "9087", NULL, 0},
    {"ingestion.batch_tracker.batch_config.max_size_bytes", OW_CONF_INT, &size, 1, 1 << 30,
     "10485760", NULL, 0},
    {"storage.data_dir", OW_CONF_STR, &dir, 0, 100, "./data", NULL, 0},
    {"flag", OW_CONF_BOOL, &flag, 0, 0, "false", NULL, 0},
    {"log.level", OW_CONF_ENUM, &level, 0, 0, "info", levels, 0},
    OW_CONF_END};

static char path[] = "/tmp/openwit-config-XXXXXX";
static char err[1024];

static int load(const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	err[0] = '\0';
	return ow_conf_load(path, err, sizeof(err));
}

static void expect_error(const char *text, const char *want, const char *name)
{
	ok(load(text) == OW_ERROR && strstr(err, want) != NULL, "%s: %s", name, err);
}

int main(void)
{
	int fd = mkstemp(path);
	close(fd);
	ow_conf_register(table);

	is_int(ow_conf_load(NULL, err, sizeof(err)), OW_OK, "no file: defaults");
	is_int(port, 9087, "integer default");
	is_str(dir, "./data", "string default");
	is_int(level, 1, "enum default");

	is_int(load("ingestion:\n  http:\n    port: 4318\n  batch_tracker:\n    batch_config:\n"
		    "      max_size_bytes: 1024\nflag: yes\nlog:\n  level: debug\n"),
	       OW_OK, "a nested file loads");
	is_int(port, 4318, "nested key");
	is_int(size, 1024, "deeply nested key");
	is_int(flag, 1, "bool yes");
	is_int(level, 0, "enum value");

	is_int(load("ingestion.http.port: 1234\n"), OW_OK, "a dotted key at the top level");
	is_int(port, 1234, "dotted key value");
	is_int(size, 10485760, "keys not in the file go back to their defaults");

	setenv("OW_TEST_DIR", "/var/lib/ow", 1);
	unsetenv("OW_TEST_UNSET");
	is_int(load("storage:\n  data_dir: ${OW_TEST_DIR}/x\n"), OW_OK, "${VAR}");
	is_str(dir, "/var/lib/ow/x", "${VAR} expanded");
	is_int(load("storage:\n  data_dir: \"${OW_TEST_UNSET:-/fallback}\"\n"), OW_OK,
	       "${VAR:-default}");
	is_str(dir, "/fallback", "${VAR:-default} uses the default");

	char want[256];
	snprintf(want, sizeof(want), "%s:4: unknown key \"ingestion.http.prot\"", path);
	expect_error("# comment\ningestion:\n  http:\n    prot: 1\n", want + strlen(path) + 1,
		     "an unknown key");
	ok(strncmp(err, path, strlen(path)) == 0, "the error starts with the file name");
	expect_error("ingestion:\n  http:\n    port: abc\n",
		     ":3: ingestion.http.port: expects an integer", "a wrong type");
	expect_error("ingestion:\n  http:\n    port: 70000\n",
		     ":3: ingestion.http.port: 70000 is out of range [0, 65535]", "out of range");
	expect_error("flag: maybe\n", ":1: flag: expects true or false", "a bad bool");
	expect_error("log:\n  level: loud\n", ":2: log.level: expects one of debug, info, warn",
		     "a bad enum");
	expect_error("storage:\n  data_dir: ${OW_TEST_UNSET}\n",
		     ":2: storage.data_dir: environment variable OW_TEST_UNSET is not set",
		     "an unset variable");
	expect_error("ingestion:\n  http: [1, 2]\n", ":2: ingestion.http: expects a single value",
		     "a list");
	expect_error("ingestion:\n  http:\n    port: 1\n   bad: [\n", ":", "a YAML syntax error");
	expect_error("- 1\n", ":1:", "a document that is not a mapping");
	unlink(path);
	return done_testing();
}
