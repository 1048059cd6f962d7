/* json: our ->>, -> and json_extract's walk and values (modules/search/
 * expr.c) give SQLite's own answers on JSON that SQLite reads, for '$'
 * paths: generated documents of every kind of value (integers at and past
 * int64, reals as SQLite reads them, escapes, \u sequences and surrogate
 * pairs, duplicate and dotted keys, the white space SQLite allows), checked
 * against json_extract and -> of a bare SQLite connection; then what is
 * ours: a path without '$' is one key, text that is not JSON is a
 * string, and the OTLP/JSON steps (.stringValue, .intValue, ...) on plain
 * values give what they gave on OTLP/JSON. */
#include "../lib/tap.h"
#include "modules/search/internal.h"

static sqlite3 *db;

static uint64_t rnd(uint64_t n)
{
	return tap_rand() % n;
}

static const char *const keys[] = {"a", "b", "a.b", "http.route", "k", "stringValue", "x y"};

static void gen(ow_buf_t *o, int depth);

static void ws(ow_buf_t *o)
{
	static const char *const w[] = {"", "", "", " ", "\n", "\t ", "\r"};
	ow_buf_addstr(o, w[rnd(OW_NELEMS(w))]);
}

static void gen_string(ow_buf_t *o)
{
	static const char *const parts[] = {
	    "plain",	 "/api/cart", "\\\"",		"\\\\",	    "\\n",	"\\t",	   "\\/",
	    "\\u00e9",	 "\\u0041",   "\\ud83d\\ude00", "\\ud800x", "\xc3\xa9", "\\u0000", "200",
	    "\\b\\f\\r", " "};
	ow_buf_add(o, "\"", 1);
	for (uint64_t i = rnd(4); i > 0; i--)
		ow_buf_addstr(o, parts[rnd(OW_NELEMS(parts))]);
	ow_buf_add(o, "\"", 1);
}

static void gen(ow_buf_t *o, int depth)
{
	static const char *const nums[] = {"0",
					   "-0",
					   "7",
					   "-42",
					   "9223372036854775807",
					   "-9223372036854775808",
					   "9223372036854775808",
					   "-9223372036854775809",
					   "123456789012345678901234567890",
					   "1.5",
					   "-0.0",
					   "1.0",
					   "0.1",
					   "1e5",
					   "1E-3",
					   "2.5e+300",
					   "4.94065645841247e-324",
					   "0.30000000000000004",
					   "1.7976931348623157e+308",
					   "123456789012.0",
					   "3.14159265358979323846264338"};
	ws(o);
	switch (depth > 3 ? rnd(4) : rnd(7)) {
	case 0:
		ow_buf_addstr(o, nums[rnd(OW_NELEMS(nums))]);
		break;
	case 1:
		gen_string(o);
		break;
	case 2:
		ow_buf_addstr(o, rnd(3) == 0 ? "null" : rnd(2) ? "true" : "false");
		break;
	case 3:
		ow_buf_addstr(o, nums[rnd(9)]);
		break;
	case 4:
	case 5: {
		ow_buf_add(o, "{", 1);
		for (uint64_t i = 0, n = rnd(5); i < n; i++) {
			if (i)
				ow_buf_add(o, ",", 1);
			ws(o);
			ow_buf_printf(o, "\"%s\"", keys[rnd(OW_NELEMS(keys))]);
			ws(o);
			ow_buf_add(o, ":", 1);
			gen(o, depth + 1);
		}
		ws(o);
		ow_buf_add(o, "}", 1);
		break;
	}
	default:
		ow_buf_add(o, "[", 1);
		for (uint64_t i = 0, n = rnd(4); i < n; i++) {
			if (i)
				ow_buf_add(o, ",", 1);
			gen(o, depth + 1);
		}
		ws(o);
		ow_buf_add(o, "]", 1);
	}
	ws(o);
}

static void gen_path(ow_buf_t *o)
{
	ow_buf_addstr(o, "$");
	for (uint64_t i = 0, n = rnd(4); i < n; i++) {
		if (rnd(3) == 0) {
			ow_buf_printf(o, "[%d]", (int)rnd(3));
			continue;
		}
		const char *k = keys[rnd(OW_NELEMS(keys))];
		if (strchr(k, '.') || strchr(k, ' '))
			ow_buf_printf(o, ".\"%s\"", k);
		else
			ow_buf_printf(o, ".%s", k);
	}
}

/* SQLite's answer for sql over doc and path: its type and text (a real
 * as its bits, in hex). */
static void sqlite_says(const char *sql, const ow_buf_t *doc, const char *path, ow_buf_t *out)
{
	sqlite3_stmt *st;
	out->len = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		ow_buf_printf(out, "prepare: %s", sqlite3_errmsg(db));
		return;
	}
	sqlite3_bind_text(st, 1, (const char *)doc->data, (int)doc->len, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		ow_buf_printf(out, "error: %s", sqlite3_errmsg(db));
	} else {
		int t = sqlite3_column_type(st, 0);
		ow_buf_printf(out, "%d:", t);
		if (t == SQLITE_FLOAT) {
			double d = sqlite3_column_double(st, 0);
			uint64_t bits;
			memcpy(&bits, &d, 8);
			ow_buf_printf(out, "%016llx", (unsigned long long)bits);
		} else if (t != SQLITE_NULL) {
			ow_buf_add(out, sqlite3_column_text(st, 0),
				   (size_t)sqlite3_column_bytes(st, 0));
		}
	}
	sqlite3_finalize(st);
}

/* Ours, in the same form: a real as SQLite converts its text. */
static void ours(int arrow, const ow_buf_t *doc, const char *path, ow_buf_t *out)
{
	ow_search_path_t p;
	ow_buf_t scratch = {0};
	ow_search_val_t v;
	out->len = 0;
	if (!ow_search_json_path(path, &p)) {
		ow_buf_addstr(out, "path not taken");
		return;
	}
	p.trusted = arrow >> 1; /* 2, 3: as the columnar engine reads a JSON column */
	arrow &= 1;
	int rc = arrow ? ow_search_json_text(&p, doc->data, doc->len, &scratch, &v)
		       : ow_search_json_get(&p, doc->data, doc->len, &scratch, &v);
	ow_buf_printf(out, "%d:", v.type);
	if (v.type == SQLITE_FLOAT && rc == OW_DECLINED) {
		out->len = 0;
		sqlite3_stmt *st;
		sqlite3_prepare_v2(db, "SELECT CAST(?1 AS REAL)", -1, &st, NULL);
		sqlite3_bind_text(st, 1, (const char *)v.p, (int)v.n, SQLITE_STATIC);
		sqlite3_step(st);
		double d = sqlite3_column_double(st, 0);
		uint64_t bits;
		memcpy(&bits, &d, 8);
		ow_buf_printf(out, "%d:%016llx", SQLITE_FLOAT, (unsigned long long)bits);
		sqlite3_finalize(st);
	} else if (v.type == SQLITE_INTEGER) {
		ow_buf_printf(out, "%lld", (long long)v.i);
	} else if (v.type == SQLITE_TEXT) {
		ow_buf_add(out, v.p, v.n);
	}
	ow_buf_free(&scratch);
}

static void test_like_sqlite(void)
{
	int n = 0, same = 0, arrow_same = 0, valid = 0;
	ow_buf_t doc = {0}, path = {0}, a = {0}, b = {0};
	for (int i = 0; i < 20000; i++) {
		doc.len = path.len = 0;
		gen(&doc, 0);
		gen_path(&path);
		ow_buf_add(&path, "", 1);
		const char *ps = (const char *)path.data;
		sqlite_says("SELECT json_valid(?1)", &doc, ps, &a);
		if (a.len != 3 || memcmp(a.data, "1:1", 3) != 0) {
			printf("# not valid: %.*s\n", (int)doc.len, (const char *)doc.data);
			continue;
		}
		valid++;
		sqlite_says("SELECT json_extract(?1, ?2)", &doc, ps, &a);
		/* .stringValue on a scalar is ours (test_ours): where SQLite
		 * finds a member of that name, the same */
		if (strstr(ps, "stringValue") && a.len == 2 && memcmp(a.data, "5:", 2) == 0)
			continue;
		n++;
		ours(0, &doc, ps, &b);
		if (a.len == b.len && memcmp(a.data, b.data, a.len) == 0)
			same++;
		else if (n - same < 5)
			printf("# json_extract(%.*s, '%s'): SQLite %.*s, ours %.*s\n", (int)doc.len,
			       (const char *)doc.data, ps, (int)a.len, (const char *)a.data,
			       (int)b.len, (const char *)b.data);
		sqlite_says("SELECT ?1 -> ?2", &doc, ps, &a);
		ours(1, &doc, ps, &b);
		if (a.len == b.len && memcmp(a.data, b.data, a.len) == 0)
			arrow_same++;
		else if (n - arrow_same < 5)
			printf("# %.*s -> '%s': SQLite %.*s, ours %.*s\n", (int)doc.len,
			       (const char *)doc.data, ps, (int)a.len, (const char *)a.data,
			       (int)b.len, (const char *)b.data);
	}
	/* damaged texts: an answer, never a read out of bounds (make asan),
	 * also when they are trusted wrongly to be JSON */
	for (int i = 0; i < 20000; i++) {
		doc.len = path.len = 0;
		gen(&doc, 0);
		gen_path(&path);
		ow_buf_add(&path, "", 1);
		for (uint64_t m = rnd(3) + 1; doc.len && m > 0; m--)
			doc.data[rnd(doc.len)] = (uint8_t) "{}[]\\\":,\"0e-"[rnd(12)];
		if (doc.len && rnd(2))
			doc.len = rnd(doc.len);
		for (int k = 0; k < 4; k++)
			ours(k, &doc, (const char *)path.data, &a);
	}
	ok(valid > 15000 && n > 15000,
	   "%d of 20000 generated documents are JSON to SQLite, %d paths compared", valid, n);
	is_int(same, n, "json_extract: SQLite's value and type on every '$' path of %d documents",
	       n);
	is_int(arrow_same, n, "->: SQLite's JSON text on every '$' path of %d documents", n);
	ow_buf_free(&doc);
	ow_buf_free(&path);
	ow_buf_free(&a);
	ow_buf_free(&b);
}

/* ->> of json and path, as text: "NULL", "i:N", "t:text", "r:text". */
static const char *get(const char *json, const char *path)
{
	static char out[256];
	ow_search_path_t p;
	ow_buf_t scratch = {0};
	ow_search_val_t v;
	if (!ow_search_json_path(path, &p))
		return "path not taken";
	int rc = ow_search_json_get(&p, (const uint8_t *)json, strlen(json), &scratch, &v);
	if (v.type == SQLITE_NULL)
		snprintf(out, sizeof(out), "NULL");
	else if (v.type == SQLITE_INTEGER)
		snprintf(out, sizeof(out), "i:%lld", (long long)v.i);
	else
		snprintf(out, sizeof(out), "%s:%.*s",
			 v.type == SQLITE_FLOAT ? (rc == OW_DECLINED ? "r" : "?") : "t", (int)v.n,
			 (const char *)v.p);
	ow_buf_free(&scratch);
	return out;
}

static void test_ours(void)
{
	const char *attrs = "{\"http.route\":\"/api/cart\",\"code\":200,\"ratio\":0.5,\"ok\":true,"
			    "\"nan\":\"NaN\",\"arr\":[1,\"x\"],\"kv\":{\"stringValue\":\"inner\"},"
			    "\"http\":{\"route\":\"nested\"},\"dup\":1,\"dup\":2,\"none\":null}";
	is_str(get(attrs, "http.route"), "t:/api/cart",
	       "a key without '$' is one key, dots and all");
	is_str(get(attrs, "$.\"http.route\""), "t:/api/cart", "the same as a quoted '$' step");
	is_str(get(attrs, "$.http.route"), "t:nested", "'$.http.route' is two steps, as in SQLite");
	is_str(get(attrs, "code"), "i:200", "an integer");
	is_str(get(attrs, "ratio"), "r:0.5", "a real: its text, for SQLite to read");
	is_str(get(attrs, "ok"), "i:1", "true is 1");
	is_str(get(attrs, "arr"), "t:[1,\"x\"]", "an array: its JSON");
	is_str(get(attrs, "$.arr[1]"), "t:x", "an element");
	is_str(get(attrs, "dup"), "i:1", "the first of duplicate keys");
	is_str(get(attrs, "none"), "NULL", "null");
	is_str(get(attrs, "nope"), "NULL", "a missing key");
	/* the steps of format 1's OTLP/JSON */
	is_str(get(attrs, "$.\"http.route\".stringValue"), "t:/api/cart",
	       ".stringValue of a string");
	is_str(get(attrs, "$.code.intValue"), "t:200", ".intValue of an integer: its text");
	is_str(get(attrs, "$.code.stringValue"), "NULL", ".stringValue of an integer: NULL");
	is_str(get(attrs, "$.ratio.doubleValue"), "r:0.5", ".doubleValue of a real");
	is_str(get(attrs, "$.code.doubleValue"), "NULL", ".doubleValue of an integer: NULL");
	is_str(get(attrs, "$.ratio.intValue"), "NULL", ".intValue of a real: NULL");
	is_str(get(attrs, "$.nan.doubleValue"), "t:NaN",
	       ".doubleValue of NaN: the text format 1 had");
	is_str(get(attrs, "$.ok.boolValue"), "i:1", ".boolValue of a bool");
	is_str(get(attrs, "$.kv.stringValue"), "t:inner", "an object's member named stringValue");
	is_str(get(attrs, "$.arr.stringValue"), "NULL", ".stringValue of an array: NULL");
	/* text that is not JSON: a string */
	const char *line = "connection refused to 10.0.0.1:5432";
	is_str(get(line, "$"), "t:connection refused to 10.0.0.1:5432", "a log line is a string");
	is_str(get(line, "$.stringValue"), "t:connection refused to 10.0.0.1:5432",
	       "its .stringValue is the line");
	is_str(get(line, "$.a"), "NULL", "and has no members (no error)");
	is_str(get("[ERROR] disk full", "$[0]"), "NULL", "nor elements");
	is_str(get("{\"a\":1,", "a"), "NULL", "cut JSON is a string too");
	is_str(get("{\"level\":\"warn\"}", "level"), "t:warn", "a JSON line is JSON");
	is_str(get("123 apples", "$"), "t:123 apples", "a number and more is a string");
	is_str(get("123", "$"), "i:123", "a number alone is a number");
	is_str(get("\f123", "$"), "t:\f123", "form feed is not JSON's white space");
	ow_search_path_t p;
	ok(!ow_search_json_path("$[#-1]", &p) && !ow_search_json_path("$.", &p) &&
	       !ow_search_json_path("$.\"open", &p) && ow_search_json_path("", &p) && p.nkeys == 1,
	   "[#-N] and bad '$' paths are SQLite's; '' is the key \"\"");
	memset(&p, 0, sizeof(p));
	ok(ow_search_json_index(1, &p) && !ow_search_json_index(-1, &p), "an integer operand: [N]");
	ow_buf_t scratch = {0};
	ow_search_val_t v;
	ow_search_json_get(&p, (const uint8_t *)"[5,6]", 5, &scratch, &v);
	ok(v.type == SQLITE_INTEGER && v.i == 6, "[1] of [5,6] is 6");
	ow_buf_free(&scratch);
}

int main(void)
{
	if (sqlite3_open(":memory:", &db) != SQLITE_OK)
		return 1;
	test_like_sqlite();
	test_ours();
	sqlite3_close(db);
	return done_testing();
}
