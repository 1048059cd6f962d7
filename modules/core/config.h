/*
 * config.h - configuration directives, nginx style: each module lists its
 * keys in a table of ow_directive_t with a type, a range and a default
 * written as text. Defaults are parsed by the same code as the file, so a
 * default can never be a value the file would reject. The YAML file is
 * flattened to dotted keys ("ingestion.http.port"); an unknown key, a wrong
 * type or a value out of range is an error that names file:line and key.
 * Scalars may use ${VAR} and ${VAR:-default}.
 */
#ifndef OW_CONFIG_H
#define OW_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* OW_CONF_LIST: a YAML list of strings (or one string), kept as one
 * malloc'd string with the items separated by newlines; max bounds each. */
enum ow_conf_type { OW_CONF_INT, OW_CONF_BOOL, OW_CONF_STR, OW_CONF_ENUM, OW_CONF_LIST };

typedef struct {
	const char *key;
	int type;
	void *ptr; /* int64_t *, int *, char ** (STR, LIST) or int * (ENUM: index) */
	int64_t min, max;
	const char *def;
	const char *const *choices; /* ENUM only, NULL-terminated */
	int line;		    /* where the file set it; 0 = default */
} ow_directive_t;

#define OW_CONF_END                                                                                \
	{                                                                                          \
		NULL, 0, NULL, 0, 0, NULL, NULL, 0                                                 \
	}

/* Registers a module's table; call before ow_conf_load(). */
void ow_conf_register(ow_directive_t *table);
/* Applies every default, then the file when path is not NULL. On error,
 * writes "file:line: message" into err and returns OW_ERROR. */
int ow_conf_load(const char *path, char *err, size_t errlen);
/* ow_conf_load of a document held in memory (len bytes), name standing for
 * the file in messages (kept: a string that lives as long as the settings). */
int ow_conf_load_text(const char *name, const uint8_t *text, size_t len, char *err, size_t errlen);
/* Prints the effective configuration as YAML-like "key: value" lines. */
void ow_conf_dump(FILE *out);
const char *ow_conf_path(void);
/* For cross-key checks: formats "file:line: key: message" into err. */
void ow_conf_error(char *err, size_t errlen, const ow_directive_t *d, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
ow_directive_t *ow_conf_find(const char *key);

#endif
