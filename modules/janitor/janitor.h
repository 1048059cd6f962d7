/*
 * janitor.h - merges active parts into stable ones (janitor.c).
 */
#ifndef OW_JANITOR_H
#define OW_JANITOR_H

#include "../core/module.h"

extern ow_module_t ow_janitor_module;

#endif
