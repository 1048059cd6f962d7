/*
 * module.h - the module interface. Every module is one struct of hooks,
 * listed in the ordered table in openwit.c; modules start in pipeline
 * order and stop in reverse. All hooks run on the loop thread.
 *
 *   directives  its configuration keys (config.h), registered before load
 *   check       cross-key validation after the file is read (-t runs it)
 *   init        open files, recover state; no listeners yet
 *   start       bind listeners, start timers; may fail (port in use)
 *   drain       stop taking new work (SIGTERM); in-flight work goes on
 *   busy        nonzero while work it accepted is still in flight
 *   stop        release everything; threads joined
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
	int (*start)(struct event_base *base);
	void (*drain)(void);
	int (*busy)(void);
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
