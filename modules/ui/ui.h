/*
 * ui.h - the web UI (ui.c): its assets, compressed at build time and
 * compiled into the binary, served on the control port at "/" (the page)
 * and under "/ui/" (scripts and styles).
 */
#ifndef OW_UI_H
#define OW_UI_H

#include "../core/module.h"

#include <stddef.h>

extern ow_module_t ow_ui_module;

/* One file of modules/ui/www/, as build/gen/ui_assets.c holds it (written
 * by modules/ui/gen/embed.c): gzip (-9, no name, no time), its size
 * inflated, and an ETag made of the inflated bytes' CRC-32 and Adler-32,
 * so that a changed file gets a new one. */
typedef struct {
	const char *path; /* "/" for index.html, else "/ui/NAME" */
	const char *ctype;
	const unsigned char *gz;
	size_t gz_len, raw_len;
	const char *etag; /* quoted */
} ow_ui_asset_t;

extern const ow_ui_asset_t ow_ui_assets[];
extern const size_t ow_ui_nassets;

/* The asset served at path, or NULL. */
const ow_ui_asset_t *ow_ui_asset(const char *path);

#endif
