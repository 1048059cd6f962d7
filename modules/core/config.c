/*
 * config.c - see config.h. libyaml's event parser walks the document; a
 * stack of mapping keys gives each scalar its dotted key and the parser's
 * mark gives its line.
 */
#include "config.h"
#include "core.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <yaml.h>

#define MAX_TABLES 32
#define MAX_DEPTH 16

static ow_directive_t *tables[MAX_TABLES];
static int ntables;
static const char *conf_path;

void ow_conf_register(ow_directive_t *table)
{
	if (ntables < MAX_TABLES)
		tables[ntables++] = table;
}

const char *ow_conf_path(void)
{
	return conf_path ? conf_path : "(defaults)";
}

ow_directive_t *ow_conf_find(const char *key)
{
	for (int t = 0; t < ntables; t++)
		for (ow_directive_t *d = tables[t]; d->key; d++)
			if (strcmp(d->key, key) == 0)
				return d;
	return NULL;
}

void ow_conf_error(char *err, size_t errlen, const ow_directive_t *d, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (d->line)
		snprintf(err, errlen, "%s:%d: %s: %s", ow_conf_path(), d->line, d->key, msg);
	else
		snprintf(err, errlen, "%s: %s (default): %s", ow_conf_path(), d->key, msg);
}

/* Expands ${VAR} and ${VAR:-default}; returns a malloc'd string or NULL
 * with a message in err. */
static char *expand(const char *s, char *err, size_t errlen)
{
	ow_buf_t b = {0};
	while (*s) {
		if (s[0] != '$' || s[1] != '{') {
			ow_buf_add(&b, s++, 1);
			continue;
		}
		const char *end = strchr(s, '}');
		if (end == NULL) {
			snprintf(err, errlen, "unterminated ${ in value");
			ow_buf_free(&b);
			return NULL;
		}
		char name[256];
		size_t n = (size_t)(end - s - 2);
		if (n >= sizeof(name))
			n = sizeof(name) - 1;
		memcpy(name, s + 2, n);
		name[n] = '\0';
		char *dflt = strstr(name, ":-");
		if (dflt) {
			*dflt = '\0';
			dflt += 2;
		}
		const char *val = getenv(name);
		if (val == NULL || (dflt && *val == '\0'))
			val = dflt;
		if (val == NULL) {
			snprintf(err, errlen,
				 "environment variable %s is not set (use ${%s:-default})", name,
				 name);
			ow_buf_free(&b);
			return NULL;
		}
		ow_buf_addstr(&b, val);
		s = end + 1;
	}
	ow_buf_add(&b, "", 1);
	return (char *)b.data;
}

static int set_value(ow_directive_t *d, const char *raw, char *msg, size_t msglen)
{
	char *v = expand(raw, msg, msglen);
	if (v == NULL)
		return OW_ERROR;
	int rc = OW_OK;
	switch (d->type) {
	case OW_CONF_INT: {
		char *end;
		errno = 0;
		long long x = strtoll(v, &end, 10);
		if (*v == '\0' || *end != '\0' || errno) {
			snprintf(msg, msglen, "expects an integer, got \"%s\"", v);
			rc = OW_ERROR;
		} else if (x < d->min || x > d->max) {
			snprintf(msg, msglen, "%lld is out of range [%lld, %lld]", x,
				 (long long)d->min, (long long)d->max);
			rc = OW_ERROR;
		} else {
			*(int64_t *)d->ptr = x;
		}
		break;
	}
	case OW_CONF_BOOL:
		if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on"))
			*(int *)d->ptr = 1;
		else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off"))
			*(int *)d->ptr = 0;
		else {
			snprintf(msg, msglen, "expects true or false, got \"%s\"", v);
			rc = OW_ERROR;
		}
		break;
	case OW_CONF_STR:
	case OW_CONF_LIST:
		if ((int64_t)strlen(v) > d->max) {
			snprintf(msg, msglen, "longer than %lld characters", (long long)d->max);
			rc = OW_ERROR;
			break;
		}
		free(*(char **)d->ptr);
		*(char **)d->ptr = v;
		return OW_OK;
	case OW_CONF_ENUM: {
		int i;
		for (i = 0; d->choices[i]; i++)
			if (strcmp(d->choices[i], v) == 0)
				break;
		if (d->choices[i] == NULL) {
			ow_buf_t b = {0};
			for (int k = 0; d->choices[k]; k++)
				ow_buf_printf(&b, "%s%s", k ? ", " : "", d->choices[k]);
			ow_buf_add(&b, "", 1);
			snprintf(msg, msglen, "expects one of %s, got \"%s\"", (char *)b.data, v);
			ow_buf_free(&b);
			rc = OW_ERROR;
		} else {
			*(int *)d->ptr = i;
		}
		break;
	}
	}
	free(v);
	return rc;
}

static int apply_defaults(char *err, size_t errlen)
{
	char msg[512];
	for (int t = 0; t < ntables; t++)
		for (ow_directive_t *d = tables[t]; d->key; d++) {
			d->line = 0;
			if (set_value(d, d->def, msg, sizeof(msg)) != OW_OK) {
				snprintf(err, errlen, "built-in default of %s: %s", d->key, msg);
				return OW_ERROR;
			}
		}
	return OW_OK;
}

static void join_key(char *out, size_t len, char stack[][128], int depth, const char *last)
{
	size_t n = 0;
	out[0] = '\0';
	for (int i = 0; i < depth; i++)
		n += (size_t)snprintf(out + n, len > n ? len - n : 0, "%s.", stack[i]);
	snprintf(out + OW_MIN(n, len - 1), len > n ? len - n : 1, "%s", last);
}

/* Walks the document p reads (its input set), path naming it in errors. */
static int parse(yaml_parser_t *p, const char *path, char *err, size_t errlen)
{
	/* stack[i] is the key of the i-th enclosing mapping; expect_key says
	 * whether the next scalar in the current mapping is a key. */
	char stack[MAX_DEPTH][128];
	int expect_key[MAX_DEPTH + 1];
	int depth = -1; /* -1: outside the top-level mapping */
	char pending[128] = "";
	ow_directive_t *list = NULL; /* the LIST whose items are being read */
	ow_buf_t items = {0};
	int list_line = 0;
	int rc = OW_OK, done = 0;

	while (!done && rc == OW_OK) {
		yaml_event_t ev;
		if (!yaml_parser_parse(p, &ev)) {
			snprintf(err, errlen, "%s:%zu: %s", path, p->problem_mark.line + 1,
				 p->problem ? p->problem : "YAML syntax error");
			rc = OW_ERROR;
			break;
		}
		int line = (int)ev.start_mark.line + 1;
		char key[1024];
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_MAPPING_START_EVENT:
			if (list) {
				snprintf(err, errlen, "%s:%d: %s: expects a list of strings", path,
					 line, list->key);
				rc = OW_ERROR;
				break;
			}
			if (depth >= 0) {
				if (depth + 1 >= MAX_DEPTH) {
					snprintf(err, errlen, "%s:%d: nested too deeply", path,
						 line);
					rc = OW_ERROR;
					break;
				}
				snprintf(stack[depth], sizeof(stack[depth]), "%s", pending);
			}
			depth++;
			expect_key[depth] = 1;
			break;
		case YAML_MAPPING_END_EVENT:
			depth--;
			if (depth >= 0)
				expect_key[depth] = 1;
			break;
		case YAML_SEQUENCE_START_EVENT:
			join_key(key, sizeof(key), stack, depth, pending);
			list = depth >= 0 && !expect_key[depth] && !list ? ow_conf_find(key) : NULL;
			if (list == NULL || list->type != OW_CONF_LIST) {
				snprintf(err, errlen,
					 "%s:%d: %s: expects a single value, not a list", path,
					 line, key);
				rc = OW_ERROR;
				break;
			}
			items.len = 0;
			list_line = line;
			break;
		case YAML_SEQUENCE_END_EVENT: {
			char msg[512];
			ow_buf_add(&items, "", 1);
			expect_key[depth] = 1;
			if (set_value(list, (char *)items.data, msg, sizeof(msg)) != OW_OK) {
				snprintf(err, errlen, "%s:%d: %s: %s", path, list_line, list->key,
					 msg);
				rc = OW_ERROR;
			}
			list->line = list_line;
			list = NULL;
			break;
		}
		case YAML_ALIAS_EVENT:
			snprintf(err, errlen, "%s:%d: aliases are not supported", path, line);
			rc = OW_ERROR;
			break;
		case YAML_SCALAR_EVENT:
			if (list) {
				if (strchr((const char *)ev.data.scalar.value, '\n') ||
				    ev.data.scalar.length == 0) {
					snprintf(err, errlen,
						 "%s:%d: %s: an empty or multi-line item", path,
						 line, list->key);
					rc = OW_ERROR;
					break;
				}
				if (items.len)
					ow_buf_add(&items, "\n", 1);
				ow_buf_add(&items, ev.data.scalar.value, ev.data.scalar.length);
				break;
			}
			if (depth < 0) {
				if (ev.data.scalar.length == 0)
					break; /* an empty document */
				snprintf(err, errlen, "%s:%d: expected a mapping of settings", path,
					 line);
				rc = OW_ERROR;
				break;
			}
			if (expect_key[depth]) {
				snprintf(pending, sizeof(pending), "%s",
					 (const char *)ev.data.scalar.value);
				expect_key[depth] = 0;
				break;
			}
			expect_key[depth] = 1;
			join_key(key, sizeof(key), stack, depth, pending);
			ow_directive_t *d = ow_conf_find(key);
			if (d == NULL) {
				snprintf(err, errlen, "%s:%d: unknown key \"%s\"", path, line, key);
				rc = OW_ERROR;
				break;
			}
			char msg[512];
			const char *v = (const char *)ev.data.scalar.value;
			/* "port: ~" or "port:" is YAML null: keep the default. */
			if (ev.data.scalar.plain_implicit &&
			    (*v == '\0' || !strcmp(v, "~") || !strcmp(v, "null")))
				break;
			if (set_value(d, v, msg, sizeof(msg)) != OW_OK) {
				snprintf(err, errlen, "%s:%d: %s: %s", path, line, key, msg);
				rc = OW_ERROR;
				break;
			}
			d->line = line;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	ow_buf_free(&items);
	return rc;
}

int ow_conf_load(const char *path, char *err, size_t errlen)
{
	if (apply_defaults(err, errlen) != OW_OK)
		return OW_ERROR;
	if (path == NULL)
		return OW_OK;
	conf_path = path;
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return OW_ERROR;
	}
	yaml_parser_t p;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, f);
	int rc = parse(&p, path, err, errlen);
	yaml_parser_delete(&p);
	fclose(f);
	return rc;
}

int ow_conf_load_text(const char *name, const uint8_t *text, size_t len, char *err, size_t errlen)
{
	if (apply_defaults(err, errlen) != OW_OK)
		return OW_ERROR;
	conf_path = name;
	yaml_parser_t p;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, text, len);
	int rc = parse(&p, name, err, errlen);
	yaml_parser_delete(&p);
	return rc;
}

void ow_conf_dump(FILE *out)
{
	for (int t = 0; t < ntables; t++)
		for (ow_directive_t *d = tables[t]; d->key; d++) {
			switch (d->type) {
			case OW_CONF_INT:
				fprintf(out, "%s: %lld\n", d->key, (long long)*(int64_t *)d->ptr);
				break;
			case OW_CONF_BOOL:
				fprintf(out, "%s: %s\n", d->key, *(int *)d->ptr ? "true" : "false");
				break;
			case OW_CONF_STR:
				fprintf(out, "%s: \"%s\"\n", d->key, *(char **)d->ptr);
				break;
			case OW_CONF_ENUM:
				fprintf(out, "%s: %s\n", d->key, d->choices[*(int *)d->ptr]);
				break;
			case OW_CONF_LIST: {
				const char *s = *(char **)d->ptr;
				fprintf(out, "%s: [\"", d->key);
				for (; *s; s++)
					fputs(*s == '\n' ? "\", \"" : (char[]){*s, 0}, out);
				fprintf(out, "\"]\n");
				break;
			}
			}
		}
}
