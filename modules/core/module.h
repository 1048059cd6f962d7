/*
 * module.h - the module interface. Every module is one struct of hooks,
 * listed in the ordered table in openwit.c; modules start in pipeline
 * order and stop in reverse. All hooks run on the loop thread.
 *
 * Each of init, recover and start is a phase over the whole table: every
 * module is initialised before any recovers, and every module has
 * recovered before any starts. So what recovery hands on (a WAL file to
 * the module that registered for it) never depends on the table's order.
 *
 *   directives  its configuration keys (config.h), registered before load
 *   check       cross-key validation after the file is read (-t runs it)
 *   init        open files, register callbacks with lower modules; no
 *               listeners yet
 *   recover     bring back what a crash left (the WAL's files)
 *   start       bind listeners, start timers and threads; may fail (port
 *               in use)
 *   drain       stop taking new work (SIGTERM); in-flight work goes on
 *   busy        nonzero while work it accepted is still in flight
 *   reload      SIGHUP: read again what may change while the server runs
 *               (tokens, certificates); on an error, log it and keep what
 *               was loaded before
 *   stop        release everything; threads joined. Runs for each module
 *               one of whose hooks ran, so also after init alone
 *   stats       append its counters to /metrics, in Prometheus text
 *               (core/stats.h); loop thread
 */
#ifndef OW_MODULE_H
#define OW_MODULE_H

#include "config.h"
#include "core.h"

#include <event2/event.h>

typedef struct {
	const char *name;
	ow_directive_t *directives;
	int (*check)(char *err, size_t errlen);
	int (*init)(struct event_base *base);
	int (*recover)(void);
	int (*start)(struct event_base *base);
	void (*drain)(void);
	int (*busy)(void);
	void (*reload)(void);
	void (*stop)(void);
	void (*stats)(ow_buf_t *out);
} ow_module_t;

/* The table openwit.c runs, for what one module does across all of them:
 * /metrics (control) writes every module's stats. */
void ow_modules_set(ow_module_t *const *table, size_t n);
/* Every module's stats hook, in table order. */
void ow_modules_stats(ow_buf_t *out);

/* The directory everything lives under (storage.data_dir). */
extern char *ow_data_dir;

#endif
