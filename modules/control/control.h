/*
 * control.h - /health, /ready, /metrics and the batch-monitor API.
 */
#ifndef OW_CONTROL_H
#define OW_CONTROL_H

#include "../core/module.h"

extern ow_module_t ow_control_module;

/* openwit.c calls this once every module has started. */
void ow_control_set_ready(int ready);

#endif
