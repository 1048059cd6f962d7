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
 */
#ifndef OW_MODULE_H
#define OW_MODULE_H

#include "config.h"

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
} ow_module_t;

/* The directory everything lives under (storage.data_dir). */
extern char *ow_data_dir;

#endif
