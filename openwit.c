/*
 * openwit.c - main(): the command line, the configuration, the ordered
 * module table, the lifecycle and the event loop.
 *
 * Lifecycle: every module's directives are registered, the file is read
 * (defaults first), each module's check() runs (this is all `-t` does);
 * then the data directory is locked, the worker pool starts, and three
 * phases run over the table, each in table order (pipeline order): every
 * module's init (which registers its callbacks with the modules below
 * it), then every module's recover (the WAL hands its files to whoever
 * registered), then every module's start; then the ready line is
 * printed. SIGTERM/SIGINT drain: sources stop taking work, open batches
 * are sealed, and once no module is busy the loop ends and modules stop
 * in reverse order; the exit status is 0. A second signal exits at once.
 *
 * Reload, a phase of its own: SIGHUP reopens the log file (for logrotate),
 * then runs every module's reload hook in table order (module.h): each
 * reads again what it may change while running - the tokens (modules/auth),
 * the listeners' certificates (modules/tls) - and on an error logs it and
 * keeps what it had. The configuration file itself is not read again.
 * Under systemd (Type=notify), the service manager is told READY=1 with
 * the ready line, RELOADING=1 and READY=1 around a SIGHUP, and STOPPING=1
 * when the drain begins.
 *
 * Private files: the server runs under umask 077, so what it creates (the
 * data directory and everything under it, the log file) is its user's
 * alone: directories 0700, files 0600. A data directory, or an entry at its
 * top, that already lets its group or others in is named in a warning at
 * start; openwit does not change what it did not create.
 *
 * `openwit sql` is dispatched first: it reads the same configuration (for
 * storage.data_dir) and runs one query through modules/search, with no
 * module started, no lock taken and nothing written. `openwit token` needs
 * no configuration: it prints a new token and its tokens-file line.
 */
#include "modules/auth/auth.h"
#include "modules/catalog/catalog.h"
#include "modules/control/control.h"
#include "modules/core/batch.h"
#include "modules/core/conn.h"
#include "modules/core/io.h"
#include "modules/core/log.h"
#include "modules/core/module.h"
#include "modules/core/notify.h"
#include "modules/core/stats.h"
#include "modules/core/worker.h"
#include "modules/grpc/grpc.h"
#include "modules/http/http.h"
#include "modules/index/index.h"
#include "modules/ingest/ingest.h"
#include "modules/janitor/janitor.h"
#include "modules/kafka/kafka.h"
#include "modules/loki/loki.h"
#include "modules/otlp/otlp.h"
#include "modules/prom/prom.h"
#include "modules/search/search.h"
#include "modules/storage/storage.h"
#include "modules/tls/tls.h"
#include "modules/tracker/tracker.h"
#include "modules/traceapi/traceapi.h"
#include "modules/ui/ui.h"
#include "modules/wal/wal.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static char *log_file;
static int log_level;
static int64_t max_inflight, mmap_threshold, worker_threads, queue_slots, reserved_fds;

static const char *const log_levels[] = {"debug", "info", "warn", "error", NULL};

static ow_directive_t core_directives[] = {
    {"storage.data_dir", OW_CONF_STR, &ow_data_dir, 0, 3000, "./data", NULL, 0},
    {"log.level", OW_CONF_ENUM, &log_level, 0, 0, "info", log_levels, 0},
    {"log.file", OW_CONF_STR, &log_file, 0, 4000, "", NULL, 0},
    {"memory.max_inflight_bytes", OW_CONF_INT, &max_inflight, 1 << 20, (int64_t)1 << 40,
     "134217728", NULL, 0},
    {"memory.mmap_threshold_bytes", OW_CONF_INT, &mmap_threshold, 0, 32 << 20, "262144", NULL, 0},
    {"workers.threads", OW_CONF_INT, &worker_threads, 0, 256, "0", NULL, 0},
    {"workers.queue_slots", OW_CONF_INT, &queue_slots, 16, 1 << 20, "4096", NULL, 0},
    {"ingestion.max_json_elements", OW_CONF_INT, &ow_otlp_max_json_elements, 1, 1 << 30, "500000",
     NULL, 0},
    {"connections.reserved_fds", OW_CONF_INT, &reserved_fds, 64, 1000000, "1024", NULL, 0},
    OW_CONF_END};

static int core_check(char *err, size_t errlen)
{
	if (*ow_data_dir == '\0') {
		ow_conf_error(err, errlen, ow_conf_find("storage.data_dir"), "must not be empty");
		return OW_ERROR;
	}
	return OW_OK;
}

static ow_module_t core_module = {
    .name = "core",
    .directives = core_directives,
    .check = core_check,
    .stats = ow_core_stats,
};

/* Pipeline order: infrastructure, then the stages from the sink back to
 * the sources, so each stage's consumer is up before its producer. */
static ow_module_t *modules[] = {
    &core_module,	&ow_auth_module,    &ow_tls_module,	&ow_tracker_module,
    &ow_catalog_module, &ow_storage_module, &ow_janitor_module, &ow_index_module,
    &ow_wal_module,	&ow_control_module, &ow_prom_module,	&ow_traceapi_module,
    &ow_loki_module,	&ow_ui_module,	    &ow_ingest_module,	&ow_grpc_module,
    &ow_http_module,	&ow_kafka_module,
};

static struct event_base *base;
static struct event *drain_timer;
static int stopping;

/* Registers every module's settings and reads the file (defaults alone
 * when conf is NULL); an error names file:line and goes to stderr. */
static int load_config(const char *conf, const char *what)
{
	for (size_t i = 0; i < OW_NELEMS(modules); i++)
		if (modules[i]->directives)
			ow_conf_register(modules[i]->directives);
	char err[1024];
	if (ow_conf_load(conf, err, sizeof(err)) != OW_OK) {
		fprintf(stderr, "openwit: %s%s\n", what, err);
		return OW_ERROR;
	}
	return OW_OK;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: openwit [-t] [-T] [-c FILE]\n"
		     "       openwit sql [-c FILE] [-d DIR] [-T TENANT] [options] [SQL]\n"
		     "       openwit token TENANT SCOPES\n"
		     "       openwit -h | -v\n"
		     "\n"
		     "OpenWit: one process that receives OpenTelemetry traces, logs and metrics\n"
		     "(OTLP/HTTP), makes them durable in a write-ahead log before acknowledging,\n"
		     "and tracks every batch in SQLite (DATA_DIR/openwit.db).\n"
		     "\n"
		     "  -c FILE    read the configuration from FILE (YAML); without it every\n"
		     "             setting has its built-in default (see conf/openwit.yaml)\n"
		     "  -t         check the configuration and exit\n"
		     "  -T         check the configuration, print every setting and exit\n"
		     "  -h, --help     this text\n"
		     "  -v, --version  print the version\n"
		     "  sql ...        run SQL over the Parquet parts of a data directory, no\n"
		     "                 server needed (openwit sql -h)\n"
		     "  token TENANT SCOPES\n"
		     "                 print a new random token for TENANT (or * for all) with\n"
		     "                 SCOPES (write,read,admin), then its line for\n"
		     "                 auth.tokens_file\n"
		     "\n"
		     "Signals: TERM or INT finish in-flight requests and exit 0; HUP reopens\n"
		     "the log file and reloads the tokens file and TLS certificates. See\n"
		     "openwit(1).\n");
}

static void on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
	OW_UNUSED(fd);
	OW_UNUSED(what);
	OW_UNUSED(arg);
	for (size_t i = 0; i < OW_NELEMS(modules); i++)
		if (modules[i]->busy && modules[i]->busy()) {
			struct timeval tv = {0, 10000};
			evtimer_add(drain_timer, &tv);
			return;
		}
	/* Nothing in flight: a last moment for the answers just queued on
	 * their connections to be written before the listeners are freed. */
	struct timeval last = {0, 100000};
	event_base_loopexit(base, &last);
}

/* An ow_notify result: a service manager that cannot be told is logged. */
static void notified(int rc, const char *state)
{
	if (rc == OW_ERROR)
		ow_log(OW_LOG_WARN, "cannot send %s to NOTIFY_SOCKET %s: %s", state,
		       getenv("NOTIFY_SOCKET"), strerror(errno));
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	OW_UNUSED(what);
	OW_UNUSED(arg);
	if (sig == SIGHUP) {
		notified(ow_notify_reloading(), "RELOADING=1");
		if (ow_log_reopen() != OW_OK)
			ow_log(OW_LOG_ERROR, "cannot reopen log file: %s", strerror(errno));
		else
			ow_log(OW_LOG_INFO, "log file reopened");
		for (size_t i = 0; i < OW_NELEMS(modules); i++)
			if (modules[i]->reload)
				modules[i]->reload();
		notified(ow_notify("READY=1"), "READY=1");
		return;
	}
	if (stopping) {
		ow_log(OW_LOG_WARN, "second signal: exiting now; unacknowledged requests are "
				    "lost to their clients, who will retry");
		_exit(1);
	}
	stopping = 1;
	ow_log(OW_LOG_INFO, "signal %d: draining in-flight requests", (int)sig);
	notified(ow_notify("STOPPING=1"), "STOPPING=1");
	for (size_t i = 0; i < OW_NELEMS(modules); i++)
		if (modules[i]->drain)
			modules[i]->drain();
	drain_timer = evtimer_new(base, on_drain_tick, NULL);
	on_drain_tick(-1, 0, NULL);
}

enum { PHASE_INIT, PHASE_RECOVER, PHASE_START, NPHASES };

/* Runs a module's hook of one phase: OW_DECLINED when it has none. */
static int run_phase(ow_module_t *m, int phase)
{
	if (phase == PHASE_INIT)
		return m->init ? m->init(base) : OW_DECLINED;
	if (phase == PHASE_RECOVER)
		return m->recover ? m->recover() : OW_DECLINED;
	return m->start ? m->start(base) : OW_DECLINED;
}

static int lock_data_dir(void)
{
	if (ow_mkdir_p(ow_data_dir, 0755) != OW_OK) {
		ow_log(OW_LOG_CRIT, "cannot create data directory %s: %s", ow_data_dir,
		       strerror(errno));
		return -1;
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/openwit.lock", ow_data_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		ow_log(OW_LOG_CRIT, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		ow_log(OW_LOG_CRIT, "data directory %s is in use by another openwit (%s is locked)",
		       ow_data_dir, path);
		close(fd);
		return -1;
	}
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) != 0 || write(fd, pid, (size_t)n) != n)
		ow_log(OW_LOG_WARN, "cannot write pid to %s", path);
	return fd;
}

/* Warns about path when its group or others may reach it. */
static void warn_open(const char *path)
{
	struct stat st;
	if (lstat(path, &st) == 0 && !S_ISLNK(st.st_mode) && (st.st_mode & 077))
		ow_log(OW_LOG_WARN,
		       "%s is open to its group or others (mode %04o): chmod go-rwx it, for "
		       "openwit keeps its data private",
		       path, (unsigned)(st.st_mode & 07777));
}

/* The data directory and the entries at its top (wal, parquet, the
 * catalog...): below a private directory nobody else reaches anything. */
static void check_private(void)
{
	warn_open(ow_data_dir);
	DIR *d = opendir(ow_data_dir);
	if (!d)
		return;
	struct dirent *e;
	char path[4096];
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", ow_data_dir, e->d_name);
		warn_open(path);
	}
	closedir(d);
}

static void sql_usage(FILE *out)
{
	fprintf(out,
		"usage: openwit sql [-c FILE] [-d DIR] [-T TENANT] [--format FORMAT]\n"
		"                   [--timeout-ms N] [--max-rows N] [--max-memory-mb N] [--stats]\n"
		"                   [--engine auto|sqlite]\n"
		"                   [SQL | -]\n"
		"\n"
		"Runs one SQL query (SQLite's dialect) over the tables spans, logs and\n"
		"metrics of one tenant, read from the Parquet parts of a data directory,\n"
		"and prints the result. It needs no server and may run beside one: it only\n"
		"reads, and takes no lock. It sees the committed parts only, not the rows\n"
		"a running server still holds in its buffers (for up to\n"
		"storage.buffer.flush_interval_ms). Without SQL, or with -, the query is\n"
		"read from standard input. See openwit(1) for the tables and functions.\n"
		"\n"
		"  -c FILE             take storage.data_dir from this configuration\n"
		"  -d DIR              the data directory (default: storage.data_dir)\n"
		"  -T TENANT           the tenant (default: default)\n"
		"  --format FORMAT     table (default), csv, json or ndjson\n"
		"  --timeout-ms N      the query's time budget (default 60000; 0: none)\n"
		"  --max-rows N        most rows a result may have (default 100000; 0: any)\n"
		"  --max-memory-mb N   the query's memory budget: SQLite's heap, decoded\n"
		"                      columns, groups, the answer (default 1024; 0: any)\n"
		"  --stats             print what the query read, and the engine that ran\n"
		"                      it, on standard error\n"
		"  --engine ENGINE     auto (default): the columnar executor for the queries\n"
		"                      of its shape, SQLite for the others; sqlite: SQLite\n");
}

static int sql_number(const char *opt, const char *v, int64_t *out)
{
	char *end;
	errno = 0;
	long long n = v ? strtoll(v, &end, 10) : -1;
	if (!v || errno || end == v || *end || n < 0) {
		fprintf(stderr, "openwit: sql: %s needs a number of 0 or more\n", opt);
		return -1;
	}
	*out = n;
	return 0;
}

/* openwit sql: no server, no lock, nothing written. */
static int sql_main(int argc, char **argv)
{
	const char *conf = NULL, *dir = NULL, *sql = NULL;
	ow_search_opts_t o = {.tenant = "default", .timeout_ms = 60000, .max_rows = 100000};
	int format = OW_SEARCH_TABLE, stats = 0, engine = OW_SEARCH_AUTO;
	int64_t mb = 1024;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			sql_usage(stdout);
			return 0;
		} else if (!strcmp(a, "-c") && v) {
			conf = argv[++i];
		} else if (!strcmp(a, "-d") && v) {
			dir = argv[++i];
		} else if (!strcmp(a, "-T") && v) {
			o.tenant = argv[++i];
		} else if (!strcmp(a, "--format")) {
			if (!v || (format = ow_search_format(v)) < 0) {
				fprintf(stderr,
					"openwit: sql: --format is table, csv, json or ndjson\n");
				return 2;
			}
			i++;
		} else if (!strcmp(a, "--timeout-ms")) {
			if (sql_number(a, argv[++i], &o.timeout_ms))
				return 2;
		} else if (!strcmp(a, "--max-rows")) {
			if (sql_number(a, argv[++i], &o.max_rows))
				return 2;
		} else if (!strcmp(a, "--max-memory-mb")) {
			if (sql_number(a, argv[++i], &mb) || mb > (1 << 30))
				return 2;
		} else if (!strcmp(a, "--engine")) {
			if (!v || (engine = ow_search_engine(v)) < 0) {
				fprintf(stderr, "openwit: sql: --engine is auto or sqlite\n");
				return 2;
			}
			i++;
		} else if (!strcmp(a, "--stats")) {
			stats = 1;
		} else if ((a[0] != '-' || !strcmp(a, "-")) && !sql) {
			sql = a;
		} else {
			fprintf(stderr, "openwit: sql: unknown argument \"%s\"\n", a);
			sql_usage(stderr);
			return 2;
		}
	}
	if (load_config(conf, "sql: ") != OW_OK)
		return 1;
	char err[1024];
	o.data_dir = dir ? dir : ow_data_dir;
	o.max_memory = mb << 20;
	char *text = !sql || !strcmp(sql, "-") ? ow_read_all(stdin, 16 << 20) : NULL;
	const char *used = NULL;
	ow_search_t *s = NULL;
	ow_buf_t out = {0};
	int64_t t0 = ow_mono_ns();
	int rc = ow_search_open(&o, &s, err, sizeof(err));
	if (rc == OW_OK)
		rc = ow_search_select(s, text ? text : sql, -1, 0, engine, format, &out, &used, err,
				      sizeof(err));
	if (rc == OW_OK) {
		fwrite(out.data, 1, out.len, stdout);
		if (stats) {
			ow_search_stats_t st;
			ow_search_last_stats(s, &st);
			fprintf(stderr,
				"openwit: sql: %.1f ms; read %lld parts, %lld row groups, %lld "
				"rows, %lld bytes; engine %s\n",
				(double)(ow_mono_ns() - t0) / 1e6, (long long)st.parts,
				(long long)st.row_groups, (long long)st.rows, (long long)st.bytes,
				used);
		}
	} else {
		fprintf(stderr, "openwit: sql: %s\n", err);
	}
	ow_buf_free(&out);
	ow_search_close(s);
	free(text);
	return rc == OW_OK && fflush(stdout) == 0 ? 0 : 1;
}

/* openwit token TENANT SCOPES: no configuration, no server. */
static int token_main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: openwit token TENANT SCOPES\n"
				"  TENANT: a tenant name, or * for every tenant\n"
				"  SCOPES: comma-separated from write, read, admin\n");
		return 2;
	}
	char err[512];
	ow_buf_t out = {0};
	if (ow_auth_token_new(argv[1], argv[2], &out, err, sizeof(err)) != OW_OK) {
		fprintf(stderr, "openwit: token: %s\n", err);
		return 2;
	}
	fwrite(out.data, 1, out.len, stdout);
	ow_buf_free(&out);
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	/* before SQLite's first use: each query's blocks count against its
	 * own memory budget */
	if (ow_search_setup() != OW_OK) {
		fprintf(stderr, "openwit: cannot set up SQLite's allocator\n");
		return 1;
	}
	if (argc > 1 && !strcmp(argv[1], "sql"))
		return sql_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "token"))
		return token_main(argc - 1, argv + 1);

	const char *conf = NULL;
	int test = 0, dump = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--version")) {
			printf("openwit %s\n", OW_VERSION);
			return 0;
		} else if (!strcmp(a, "-t")) {
			test = 1;
		} else if (!strcmp(a, "-T")) {
			dump = 1;
		} else if (!strcmp(a, "-c") && i + 1 < argc) {
			conf = argv[++i];
		} else {
			fprintf(stderr, "openwit: unknown argument \"%s\"\n", a);
			usage(stderr);
			return 2;
		}
	}

	if (load_config(conf, "") != OW_OK)
		return 1;
	char err[1024];
	for (size_t i = 0; i < OW_NELEMS(modules); i++)
		if (modules[i]->check && modules[i]->check(err, sizeof(err)) != OW_OK) {
			fprintf(stderr, "openwit: %s\n", err);
			return 1;
		}
	if (test || dump) {
		if (dump)
			ow_conf_dump(stdout);
		fprintf(stderr, "openwit: configuration %s is valid\n", ow_conf_path());
		return 0;
	}

	ow_log_level = log_level;
	umask(077);
	if (ow_log_open(log_file) != OW_OK) {
		fprintf(stderr, "openwit: cannot open log file %s: %s\n", log_file,
			strerror(errno));
		return 1;
	}
	ow_io_faults_init();
	signal(SIGPIPE, SIG_IGN);
	/* A block this large gets pages of its own, unmapped when freed.
	 * glibc's own threshold rises to the largest block freed (up to 32
	 * MiB), after which column buffers come from the heaps of the threads'
	 * arenas and stay there, free or not: make bench's ingest peaked at
	 * 460-525 MB that way, 250-300 MB with this (README, Memory). */
	if (mmap_threshold && !mallopt(M_MMAP_THRESHOLD, (int)mmap_threshold))
		ow_log(OW_LOG_WARN, "memory.mmap_threshold_bytes: mallopt refused %lld",
		       (long long)mmap_threshold);
	int lock_fd = lock_data_dir();
	if (lock_fd < 0)
		return 1;
	check_private();
	ow_log(OW_LOG_INFO, "openwit %s starting: configuration %s, data directory %s", OW_VERSION,
	       ow_conf_path(), ow_data_dir);

	ow_conn_init(reserved_fds);
	base = event_base_new();
	ow_budget_init((uint64_t)max_inflight);
	if (ow_workers_start(base, (int)worker_threads, (size_t)queue_slots) != OW_OK)
		return 1;
	ow_modules_set(modules, OW_NELEMS(modules));
	int rc = 0;
	/* ran[i]: a hook of module i ran, so its stop() has something to release */
	int ran[OW_NELEMS(modules)] = {0};
	for (int phase = 0; phase < NPHASES && rc == 0; phase++)
		for (size_t i = 0; i < OW_NELEMS(modules) && rc == 0; i++) {
			int r = run_phase(modules[i], phase);
			ran[i] |= r != OW_DECLINED;
			if (r != OW_OK && r != OW_DECLINED) {
				ow_log(OW_LOG_CRIT, "%s: cannot start; exiting", modules[i]->name);
				rc = 1;
			}
		}
	struct event *sigs[4];
	int signums[4] = {SIGTERM, SIGINT, SIGHUP, 0};
	for (int i = 0; signums[i]; i++) {
		sigs[i] = evsignal_new(base, signums[i], on_signal, NULL);
		event_add(sigs[i], NULL);
	}
	if (rc == 0) {
		ow_control_set_ready(1);
		ow_log(OW_LOG_INFO, "openwit ready (pid %d, %d workers)", (int)getpid(),
		       ow_workers_count());
		notified(ow_notify("READY=1"), "READY=1");
		event_base_dispatch(base);
		ow_log(OW_LOG_INFO, "drained; stopping");
	}
	ow_workers_stop();
	for (size_t i = OW_NELEMS(modules); i-- > 0;)
		if (ran[i] && modules[i]->stop)
			modules[i]->stop();
	ow_io_stop(); /* the files of the parts the stops let go */
	for (int i = 0; signums[i]; i++)
		event_free(sigs[i]);
	if (drain_timer)
		event_free(drain_timer);
	event_base_free(base);
	close(lock_fd);
	if (rc == 0)
		ow_log(OW_LOG_INFO, "openwit stopped");
	return rc;
}
