/* logql: LogQL parsed with Loki's error messages and their columns, the
 * pipeline run on lines (json, logfmt, label filters, line_format, drop),
 * the label sets' keys; and the pieces the Loki and Tempo APIs share: Go
 * and Prometheus durations (ow_parse_duration) and RE2-style patterns
 * read as POSIX ones (ow_search_regcomp). */
#include "../lib/tap.h"
#include "modules/loki/loki.h"
#include "modules/search/search.h"

static char err[1024];

static lq_expr_t *parse(const char *q)
{
	lq_expr_t *e = NULL;
	err[0] = '\0';
	if (lq_parse(q, &e, err, sizeof(err)) != OW_OK)
		return NULL;
	return e;
}

static void refused(const char *q, const char *want)
{
	lq_expr_t *e = parse(q);
	ok(e == NULL && strstr(err, want) != NULL, "%s refused: %s", q, err);
	lq_free(e);
}

/* The line and labels a log query's pipeline leaves of line; NULL when it
 * drops it. */
static const char *run(const char *q, const char *line, lq_labels_t *l)
{
	static ow_buf_t b;
	lq_expr_t *e = parse(q);
	if (e == NULL || e->kind != E_LOGS) {
		ok(0, "%s parses as a log query: %s", q, err);
		lq_free(e);
		return NULL;
	}
	b.len = 0;
	ow_buf_addstr(&b, line);
	int kept = lq_pipeline(&e->sel, 0, &b, l);
	lq_free(e);
	ow_buf_add(&b, "", 1);
	return kept ? (const char *)b.data : NULL;
}

static void durations(void)
{
	static const struct {
		const char *s;
		int64_t ns;
	} good[] = {{"15000ms", 15000000000}, {"1h30m", 5400000000000},
		    {"1.5s", 1500000000},     {"-5s", -5000000000},
		    {"100us", 100000},	      {"2d", 172800000000000},
		    {"1w", 604800000000000},  {"90ns", 90}};
	for (size_t i = 0; i < OW_NELEMS(good); i++) {
		int64_t ns = 0;
		ok(ow_parse_duration(good[i].s, &ns) == OW_OK && ns == good[i].ns,
		   "duration %s: %lld", good[i].s, (long long)ns);
	}
	static const char *const bad[] = {"", "5", "1x", "ms", "1.2.3s", "9999999999999h", "-"};
	for (size_t i = 0; i < OW_NELEMS(bad); i++) {
		int64_t ns;
		ok(ow_parse_duration(bad[i], &ns) == OW_ERROR, "duration '%s' refused", bad[i]);
	}
}

static int matches_re(const char *pat, int anchored, const char *text)
{
	regex_t re;
	if (ow_search_regcomp(&re, pat, anchored, err, sizeof(err)) != OW_OK)
		return -1;
	int m = regexec(&re, text, 0, NULL, 0) == 0;
	regfree(&re);
	return m;
}

static void regexes(void)
{
	ok(matches_re("\\d+", 1, "123") == 1, "\\d+ matches 123 whole");
	ok(matches_re("\\d+", 1, "12a") == 0, "anchored: not 12a");
	ok(matches_re("\\d+", 0, "a12a") == 1, "unanchored: part of a12a");
	ok(matches_re("[\\w.]+@x", 1, "a.b_c@x") == 1, "\\w inside a class");
	ok(matches_re("\\S+\\s\\D", 1, "ab c") == 1, "\\S \\s \\D");
	ok(matches_re("(?i)error", 1, "ERROR") == 1, "(?i) ignores case");
	ok(matches_re("a|b", 1, "ab") == 0, "anchored alternation: the whole value");
	ok(matches_re("(", 0, "x") == -1 && strstr(err, "error parsing regexp") != NULL,
	   "a bad pattern: %s", err);
	ok(matches_re("a+?b", 1, "aab") == 1, "a lazy repetition: the same texts");
	ok(matches_re("\\d{3}-\\d{2,4}", 1, "123-4567") == 1, "counted repetitions");
	static const char *const hostile[] = {
	    "a++",
	    "a**",
	    "(a+){2}+",
	    "a{1001}",
	    "(a{100}){100}{2}",
	    "((((((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+",
	    "(a)\\1"};
	for (size_t i = 0; i < OW_NELEMS(hostile); i++)
		ok(matches_re(hostile[i], 0, "aaaa") == -1 &&
		       strstr(err, "error parsing regexp") != NULL,
		   "refused, as RE2 does, before regcomp takes unbounded memory: %s", err);
}

static void parser(void)
{
	lq_expr_t *e = parse("{service_name=\"a\", level=~\"err.*\"} |= \"x\" | json | s >= 500");
	ok(e && e->kind == E_LOGS && e->sel.nm == 2 && e->sel.nst == 3,
	   "a log query: 2 matchers, 3 stages");
	lq_free(e);
	e = parse("sum by (level) (count_over_time({a=\"b\"} | drop __error__[1m]))");
	ok(e && e->kind == E_AGG && e->nby == 1 && e->a->kind == E_RANGE &&
	       e->a->range == 60000000000,
	   "Explore's log volume query");
	lq_free(e);
	e = parse("sum(rate({a=\"b\"}[5m])) without (x) * 2");
	ok(e && e->kind == E_BIN && e->a->kind == E_AGG && e->a->without && e->b->num == 2,
	   "without after the parentheses, times a number");
	lq_free(e);
	e = parse("vector(1)+vector(1)");
	ok(e && e->kind == E_BIN && e->fn == '+', "Grafana's health check parses");
	lq_free(e);
	refused("{a=\"b\"", "col 7: syntax error");
	refused("{a=~\".*\"}", "at least one regexp or equality matcher");
	refused("{a!=\"b\"}", "at least one regexp or equality matcher");
	refused("{}", "at least one");
	refused("{a=\"b\"} |~ \"(\"", "col 12: error parsing regexp");
	refused("{a=\"b\"} | unwrap x", "not supported here: | unwrap");
	refused("count_over_time({a=\"b\"})", "expecting [");
	refused("count_over_time({a=\"b\"}[0s])", "invalid range");
	refused("{a=\"b\"} | x > \"y\"", "expecting NUMBER");
	refused("{a=\"b\"} | line_format \"{{.x | upper}}\"", "template");
	refused("sum({a=\"b\"})", "cannot be aggregated");
	refused("{a=\"b\"} + 1", "log queries take no arithmetic");
	refused("rate({a=\"b\"}[1m]) foo", "unexpected");
	char deep[400];
	size_t n = 0;
	for (int i = 0; i < 100; i++)
		deep[n++] = '(';
	deep[n++] = '1';
	for (int i = 0; i < 100; i++)
		deep[n++] = ')';
	deep[n] = '\0';
	refused(deep, "nested too deep");
}

static void pipeline(void)
{
	lq_labels_t l = {0};
	lq_labels_set(&l, "service_name", "cart", 4);
	const char *out =
	    run("{service_name=\"cart\"} | json | user_id > 5 | line_format "
		"\"{{.msg}} by {{.user_id}} ({{.service_name}})\"",
		"{\"msg\":\"paid\",\"user\":{\"id\":7},\"tags\":[1,2],\"ok\":true}", &l);
	ok(out && strcmp(out, "paid by 7 (cart)") == 0, "json, a numeric filter, line_format: %s",
	   out ? out : "(dropped)");
	ok(lq_labels_get(&l, "ok") && strcmp(lq_labels_get(&l, "ok"), "true") == 0 &&
	       lq_labels_get(&l, "tags") == NULL,
	   "json: booleans as true/false, arrays left out");
	lq_labels_free(&l);
	lq_labels_set(&l, "service_name", "cart", 4);
	ok(run("{service_name=\"cart\"} | json | user_id > 9", "{\"user\":{\"id\":7}}", &l) == NULL,
	   "json: a filter that does not hold drops the line");
	lq_labels_free(&l);
	lq_labels_set(&l, "level", "info", 4);
	out = run("{level=\"info\"} | logfmt | took >= 1.5s and msg=~\"all.*\" | drop took",
		  "level=warn msg=\"all good\" took=1500ms", &l);
	ok(out != NULL, "logfmt: a duration compared with 1.5s, a regex, and");
	ok(lq_labels_get(&l, "level_extracted") && strcmp(lq_labels_get(&l, "level"), "info") == 0,
	   "logfmt: a key that is a label already gets _extracted");
	ok(lq_labels_get(&l, "took") == NULL, "drop removes a label");
	lq_labels_free(&l);
	out = run("{a=\"b\"} | json | __error__ = \"JSONParserErr\"", "not json", &l);
	ok(out && strcmp(lq_labels_get(&l, "__error__"), "JSONParserErr") == 0,
	   "json of a line that is not JSON: __error__");
	lq_labels_free(&l);
	ok(run("{a=\"b\"} |= \"Err\" != \"debug\" |~ \"E.r\"", "an Error here", &l) != NULL &&
	       run("{a=\"b\"} |= \"err\"", "an Error here", &l) == NULL,
	   "line filters: case-sensitive contains, not, regex");
	lq_labels_free(&l);
	ok(run("{a=\"b\"} | x = \"\" or y > 1", "", &l) != NULL, "a missing label reads as empty");
	lq_labels_free(&l);
	lq_labels_set(&l, "b", "2\"", 2);
	lq_labels_set(&l, "a", "1", 1);
	ow_buf_t k = {0};
	lq_labels_key(&l, &k);
	ow_buf_add(&k, "", 1);
	ok(strcmp((const char *)k.data, "{a=\"1\", b=\"2\\\"\"}") == 0,
	   "a label set's key: sorted, quoted: %s", (const char *)k.data);
	ow_buf_free(&k);
	lq_labels_free(&l);
}

int main(void)
{
	durations();
	regexes();
	parser();
	pipeline();
	return done_testing();
}
