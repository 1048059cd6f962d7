/* columnar: which queries the columnar engine takes (ow_columnar_parse of
 * modules/search/columnar.c, the grammar of README "Engines") and which it
 * declines, so that SQLite answers them: make bench's canonical queries
 * taken, what the grammar leaves out declined, and hostile or odd text
 * (unterminated strings, comments, huge numbers, deep parentheses, long
 * lists) declined without a crash or a leak. */
#include "../lib/tap.h"
#include "modules/search/internal.h"

static int taken(const char *sql)
{
	/* the parser reads the SQL text and the schema alone: no search */
	ow_columnar_t *q = ow_columnar_parse(NULL, sql);
	ow_columnar_free(q);
	return q != NULL;
}

/* t/bench/compare.mjs's openwit queries, as it sends them */
static const char *const bench[] = {
    "SELECT service_name, count(*) AS n FROM spans WHERE start_time >= 1765000000000000000 AND "
    "start_time < 1765001800000000000 GROUP BY 1 ORDER BY 1",
    "SELECT name, p99(duration_ns) AS p99 FROM spans GROUP BY 1 ORDER BY 1",
    "SELECT * FROM spans WHERE trace_id = '5b8efff798038103d269b633813fc60c' ORDER BY start_time",
    "SELECT service_name, count(*) AS n FROM spans WHERE attributes ->> "
    "'$.\"http.response.status_code\".intValue' = '500' GROUP BY 1 ORDER BY 1",
    "SELECT time, service_name, body FROM logs WHERE body LIKE '%timeout%' ORDER BY time DESC "
    "LIMIT 100",
    "SELECT time_bucket_ns(time, 60000000000) AS minute, avg(value) AS v FROM metrics WHERE "
    "metric_name = 'process.cpu.utilization' AND service_name = 'checkout' GROUP BY 1 ORDER BY 1",
};

/* each clause and item of the grammar */
static const char *const take[] = {
    /* an aggregate whatever order SQLite gives the rows in (its values
     * checked when it runs) */
    "SELECT count(*) FROM spans WHERE start_time IN (1, 2) OR kind = 1 AND start_time IN (3, 4)",
    "SELECT service_name, count(*) FROM spans WHERE service_name = 'a' OR name LIKE 'GET%' GROUP "
    "BY 1",
    "SELECT name FROM spans WHERE start_time IN (SELECT max(start_time) FROM spans)",
    "SELECT * FROM spans",
    "select * from SPANS",
    "SELECT ALL name FROM spans",
    "SELECT count(*) FROM logs",
    "SELECT \"name\" FROM spans LIMIT 1",
    "SELECT name AS n FROM spans",
    "SELECT name n FROM spans",
    "SELECT count(*) c FROM metrics",
    "SELECT count(name), sum(duration_ns), avg(duration_ns), min(name), max(name) FROM spans",
    "SELECT p50(duration_ns), p90(duration_ns), p99(duration_ns) FROM spans",
    "SELECT count(DISTINCT service_name) AS n FROM spans",
    "SELECT service_name, count(DISTINCT trace_id) FROM spans GROUP BY service_name",
    "SELECT service_name, name, count(*) FROM spans GROUP BY 1, 2 ORDER BY 3 DESC, 1 ASC",
    "SELECT service_name, count(*) AS n FROM spans GROUP BY 1 ORDER BY n DESC LIMIT 5",
    "SELECT service_name, count(*) FROM spans GROUP BY 1 ORDER BY count(*) DESC",
    "SELECT name FROM spans ORDER BY duration_ns DESC LIMIT 10 OFFSET 20",
    "SELECT name FROM spans LIMIT 20, 10",
    "SELECT time_bucket_ns(start_time, 1000000000) AS s, count(*) FROM spans GROUP BY 1",
    "SELECT attributes ->> '$.\"http.method\".stringValue' AS m FROM spans LIMIT 3",
    "SELECT count(*) FROM spans WHERE name = 'GET /'",
    "SELECT count(*) FROM spans WHERE name == 'GET /' AND service_name != 'x' AND kind <> 2",
    "SELECT count(*) FROM spans WHERE duration_ns < 10 AND duration_ns <= 10 AND duration_ns > 1 "
    "AND duration_ns >= 1",
    "SELECT count(*) FROM spans WHERE duration_ns > -5",
    "SELECT count(*) FROM spans WHERE name IN ('a', 'b', 'c')",
    "SELECT count(*) FROM spans WHERE name NOT IN ('a')",
    "SELECT count(*) FROM spans WHERE duration_ns BETWEEN 10 AND 20",
    "SELECT count(*) FROM spans WHERE parent_span_id IS NULL",
    "SELECT count(*) FROM spans WHERE parent_span_id IS NOT NULL",
    "SELECT count(*) FROM spans WHERE name LIKE 'GET%'",
    "SELECT count(*) FROM spans WHERE name NOT LIKE '%health%'",
    "SELECT count(*) FROM spans WHERE attributes ->> '$.\"http.response.status_code\".intValue' = "
    "500",
    "SELECT count(*) FROM spans WHERE name = 'it''s'",
    "SELECT count(*) FROM logs WHERE body LIKE '%a%';",
    "SELECT count(*) FROM spans WHERE attributes ->> 'http.route' = '/api/cart'",
    "SELECT count(*) FROM spans WHERE attributes ->> 'retry' IS NULL",
    "SELECT count(*) FROM spans WHERE attributes ->> '$.a[0]' IS NULL",
    "SELECT body ->> 'level' AS l, count(*) FROM logs GROUP BY 1",
    "  SELECT\n\tcount(*)\r\nFROM\tlogs  ",
    /* expressions (eval.c) */
    "SELECT DISTINCT name FROM spans",
    "SELECT DISTINCT name, kind FROM spans ORDER BY 1, 2",
    "SELECT count(*) FROM spans WHERE name GLOB 'GET*'",
    "SELECT service_name, count(*) FROM spans GROUP BY 1 HAVING count(*) > 10",
    "SELECT duration_ns / 1000 AS us FROM spans LIMIT 3",
    "SELECT count(*) FROM spans WHERE service_name = 1",
    "SELECT count(*) FROM spans WHERE duration_ns > '10'",
    "SELECT count(*) FROM spans WHERE NOT (kind = 1 AND status_code <> 2)",
    "SELECT upper(name), lower(name), length(name), substr(name, 2, 3) FROM spans",
    "SELECT time_bucket_ns(name, 60) FROM spans",
    "SELECT count(*) FROM spans WHERE start_time >= 1796636245626000000 + 1800000000000",
    "SELECT count(*) FROM spans WHERE json_extract(attributes, '$.a.stringValue') = 'x'",
    "SELECT service_name, sum(CASE WHEN status_code = 2 THEN 1 ELSE 0 END) AS e FROM spans "
    "GROUP BY 1",
    "SELECT CASE kind WHEN 1 THEN 'server' WHEN 2 THEN 'client' END AS k FROM spans",
    "SELECT CAST(duration_ns AS REAL) / 1e6 AS ms, coalesce(status_message, '') FROM spans",
    "SELECT ifnull(status_message, 'ok'), nullif(kind, 1), iif(kind = 1, 'a', 'b') FROM spans",
    "SELECT abs(duration_ns), round(duration_ns / 3.0), round(duration_ns / 3.0, 2) FROM spans",
    "SELECT instr(name, '/'), replace(name, 'GET', 'get'), trim(name), ltrim(name, 'G') FROM spans",
    "SELECT min(kind, status_code), max(kind, 2, 3) FROM spans",
    "SELECT name || ' ' || kind AS x FROM spans",
    "SELECT strftime('%Y-%m-%d %H:%M', start_time / 1e9, 'unixepoch') AS m, count(*) FROM spans "
    "GROUP BY 1",
    "SELECT datetime(start_time / 1000000000, 'unixepoch'), date(start_time / 1e9, 'unixepoch') "
    "FROM spans",
    "SELECT ns_to_iso(start_time), ns('2024-01-01'), interval_ns('5 minutes') FROM spans",
    "SELECT count(*) FROM spans WHERE start_time > now_ns() - interval_ns('1 hour')",
    "SELECT duration_ns / 10000000 AS b, count(*) FROM spans GROUP BY b ORDER BY b",
    "SELECT kind * 10 + status_code, count(*) FROM spans GROUP BY kind * 10 + status_code",
    "SELECT count(DISTINCT duration_ns / 1000) FROM spans",
    "SELECT count(*) FROM spans WHERE trace_id IN (SELECT trace_id FROM spans WHERE kind = 2)",
    "SELECT count(*) FROM logs WHERE service_name NOT IN (SELECT service_name FROM spans)",
    "SELECT count(*) FROM logs WHERE lower(body) LIKE '%out of memory%'",
    "SELECT service_name, 100.0 * sum(CASE WHEN severity_number >= 17 THEN 1 ELSE 0 END) / "
    "count(*) AS pct FROM logs GROUP BY 1 ORDER BY pct DESC",
    "SELECT name, count(*) AS n FROM spans GROUP BY name ORDER BY count(*) * 2 DESC",
    "SELECT duration_ns AS d FROM spans WHERE d > 5 ORDER BY d",
    "SELECT kind BETWEEN 1 AND 2, kind NOT BETWEEN 1 AND 2, name NOT LIKE 'a%' FROM spans",
    "SELECT status_message IS NULL, status_message ISNULL, kind IS NOT 1 FROM spans",
    "SELECT TRUE, FALSE, NULL, -0.0, 1e3 FROM spans LIMIT 1",
    "SELECT (SELECT count(*) FROM logs) FROM spans",
    "SELECT name FROM spans WHERE duration_ns > (SELECT avg(duration_ns) FROM spans)",
    "SELECT count(*) FILTER (WHERE kind = 1), sum(duration_ns) FILTER (WHERE kind > 1) FROM spans",
    "SELECT count(*) FROM spans WHERE attributes -> '$.retry' IS NULL",
    "SELECT attributes -> 'http.route' AS r, count(*) FROM spans GROUP BY 1",
};

/* outside the grammar (README "Engines": SQLite's), or against its rules */
static const char *const decline[] = {
    "",
    "SELECT",
    "SELECT 1",
    "SELECT * FROM",
    "SELECT * FROM nothing",
    "SELECT * FROM batch_tracker",
    "INSERT INTO spans VALUES (1)",
    "DELETE FROM spans",
    "WITH x AS (SELECT 1) SELECT * FROM spans",
    "SELECT count(*) FROM spans WHERE name LIKE 'GET%' ESCAPE '!'",
    "SELECT count(*) FROM spans WHERE attributes ->> 0 IS NULL",
    "SELECT count(*) FROM spans WHERE attributes ->> '$.a[#-1]' IS NULL",
    "SELECT count(*) FROM spans WHERE trace_id ->> 'a' IS NULL",
    "SELECT sum(DISTINCT duration_ns) FROM spans",
    "SELECT name FROM (SELECT name FROM spans) LIMIT 2",
    "SELECT name, count(*) OVER () FROM spans",
    "SELECT name COLLATE NOCASE FROM spans",
    "SELECT count(*) FROM spans WHERE EXISTS (SELECT 1 FROM logs)",
    "SELECT DISTINCT count(*) FROM spans",
    "SELECT DISTINCT name FROM spans ORDER BY duration_ns",
    "SELECT service_name, count(*) FROM spans GROUP BY 1 HAVING name = 'a'",
    "SELECT name FROM spans HAVING 1",
    "SELECT kind & 1 FROM spans",
    "SELECT +kind FROM spans",
    "SELECT spans.name FROM spans",
    "SELECT NAME FROM spans",
    "SELECT count(*) FROM spans GROUP BY -1",
    "SELECT name FROM spans ORDER BY 1 + 1",
    "SELECT random() FROM spans",
    "SELECT datetime('now') FROM spans",
    "SELECT count(*) FROM spans WHERE name IN ()",
    "SELECT count(*) FROM spans WHERE kind IS DISTINCT FROM 1",
    "SELECT max(count(*)) FROM spans",
    "SELECT count(*) FILTER (WHERE count(*) > 1) FROM spans",
    "SELECT upper(name) FILTER (WHERE kind = 1) FROM spans",
    "SELECT count(*) FROM spans WHERE count(*) > 1",
    "SELECT abs(-9223372036854775807 - 1) FROM spans",
    "SELECT CAST(name AS BLOB) FROM spans",
    /* plain rows SQLite may give in another order than a scan's */
    "SELECT name FROM spans WHERE start_time IN (1, 2) OR kind = 1 AND start_time IN (3, 4)",
    "SELECT name FROM spans WHERE service_name = 'a' OR name LIKE 'GET%'",
    "SELECT DISTINCT name FROM spans WHERE service_name = 'a' OR duration_ns > 5",
    "SELECT count(*) FROM spans -- a comment",
    "SELECT count(*) FROM spans /* a comment */",
    "SELECT service_name, name FROM spans GROUP BY 1 LIMIT 1",
    "SELECT count(*) AS name FROM spans",
    "SELECT name FROM spans WHERE start_time IN (1, 2)",
    "SELECT name, name FROM spans LIMIT 1",
    "SELECT name, count(*) FROM spans",
    "SELECT count(*) FROM spans WHERE name = ?",
    "SELECT count(*) FROM spans WHERE interval_ns('bad') > 0",
    "SELECT count(*) FROM spans WHERE name = :n",
    "SELECT sum(name) FROM spans",
    "SELECT p99(name) FROM spans",
    "SELECT time_bucket_ns(start_time, -60) FROM spans",
    "SELECT * FROM spans, logs",
    "SELECT * FROM spans JOIN logs ON 1",
    "SELECT * FROM spans UNION SELECT * FROM spans",
    "SELECT * FROM spans; SELECT * FROM logs",
    "SELECT * FROM spans LIMIT 1 garbage",
    "SELECT * FROM spans WHERE",
    "SELECT * FROM spans ORDER BY",
    "SELECT * FROM spans GROUP",
    "SELECT name FROM spans WHERE name = x'41'",
    "SELECT count(*) FROM spans WHERE duration_ns > 0x10",
    "SELECT count(*) FROM spans WHERE duration_ns > 1abc",
    "SELECT name FROM spans LIMIT 1 OFFSET",
    "SELECT `name` FROM spans",
    "SELECT [name] FROM spans",
};

/* hostile or odd text: declined, never a crash, a read past the end or a
 * leak (run under make asan) */
static const char *const hostile[] = {
    "SELECT count(*) FROM spans WHERE name = 'unterminated",
    "SELECT count(*) FROM spans WHERE name = 'a''",
    "SELECT \"name FROM spans",
    "SELECT count(*) FROM spans WHERE name = '",
    "'",
    "\"",
    "SELECT count(*) FROM spans WHERE duration_ns > 99999999999999999999999999999",
    "SELECT count(*) FROM spans WHERE duration_ns > 9223372036854775808",
    "SELECT count(*) FROM spans WHERE duration_ns > 1e999999",
    "SELECT name FROM spans LIMIT 99999999999999999999",
    "SELECT name FROM spans GROUP BY 99999999999",
    "SELECT name FROM spans ORDER BY 0",
    "SELECT count(*) FROM spans WHERE duration_ns > 1e",
    "SELECT count(*) FROM spans WHERE duration_ns > 1.2.3",
    "SELECT count(*) FROM spans WHERE duration_ns > .",
    "SELECT count(*) FROM spans WHERE duration_ns > --1",
    "SELECT count(*) FROM spans WHERE name = 'a' /* unterminated",
    "SELECT count((((((((((*)))))))))) FROM spans",
    "SELECT count(*) FROM spans WHERE name IN (",
    "SELECT count(*) FROM spans WHERE name IN ()",
    "SELECT count(* FROM spans",
    "SELECT count(*)) FROM spans",
    "SELECT count(*) FROM spans WHERE attributes ->> ",
    "SELECT count(*) FROM spans WHERE attributes ->> '$.'",
    "SELECT count(*) FROM spans WHERE attributes ->> '$.\"unterminated' = 1",
    "SELECT * FROM spans \x01",
    "SELECT * FROM spans WHERE name = 'caf\xc3\xa9' AND \xff",
    "FROM spans",
    "FROM",
    "SELECT FROM FROM FROM",
    ";",
    "SELECT * FROM spans LIMIT 5 OFFSET 5 OFFSET 5",
};

/* The query as one line of TAP: control characters as '?'. */
static const char *line(const char *sql)
{
	static char out[100];
	size_t i = 0;
	for (; sql[i] && i + 1 < sizeof(out); i++)
		out[i] = (unsigned char)sql[i] < ' ' ? '?' : sql[i];
	out[i] = '\0';
	return out;
}

int main(void)
{
	for (size_t i = 0; i < OW_NELEMS(bench); i++)
		ok(taken(bench[i]), "bench query taken: %s", line(bench[i]));
	for (size_t i = 0; i < OW_NELEMS(take); i++)
		ok(taken(take[i]), "taken: %s", line(take[i]));
	for (size_t i = 0; i < OW_NELEMS(decline); i++)
		ok(!taken(decline[i]), "declined: %s", line(decline[i]));
	for (size_t i = 0; i < OW_NELEMS(hostile); i++)
		ok(!taken(hostile[i]), "declined: %s", line(hostile[i]));

	/* longer than any fixed table of the parser (items, conditions, IN
	 * lists, parentheses): each either taken whole or declined, within
	 * bounds */
	ow_buf_t b = {0};
	ow_buf_printf(&b, "SELECT ");
	for (int i = 0; i < 1000; i++)
		ow_buf_printf(&b, "%sname AS n%d", i ? ", " : "", i);
	ow_buf_printf(&b, " FROM spans");
	ow_buf_add(&b, "", 1);
	ok(!taken((const char *)b.data), "1000 items: declined");
	b.len = 0;
	ow_buf_printf(&b, "SELECT count(*) FROM spans WHERE ");
	for (int i = 0; i < 1000; i++)
		ow_buf_printf(&b, "%sduration_ns > %d", i ? " AND " : "", i);
	ow_buf_add(&b, "", 1);
	ok(taken((const char *)b.data), "1000 conditions: taken");
	b.len = 0;
	ow_buf_printf(&b, "SELECT count(*) FROM spans WHERE name IN (");
	for (int i = 0; i < 100000; i++)
		ow_buf_printf(&b, "%s'v%d'", i ? ", " : "", i);
	ow_buf_printf(&b, ")");
	ow_buf_add(&b, "", 1);
	ok(taken((const char *)b.data), "IN with 100000 strings: taken");
	b.len = 0;
	ow_buf_printf(&b, "SELECT count(*) FROM spans WHERE ");
	for (int i = 0; i < 100000; i++)
		ow_buf_printf(&b, "(");
	ow_buf_printf(&b, "name = 'a'");
	for (int i = 0; i < 100000; i++)
		ow_buf_printf(&b, ")");
	ow_buf_add(&b, "", 1);
	ok(!taken((const char *)b.data), "100000 nested parentheses: declined");

	/* token soup: queries of the grammar's words in random order, each
	 * taken or declined without a crash, a read past the end or a leak */
	static const char *const words[] = {"SELECT",
					    "DISTINCT",
					    "FROM",
					    "spans",
					    "logs",
					    "WHERE",
					    "GROUP",
					    "BY",
					    "HAVING",
					    "ORDER",
					    "LIMIT",
					    "OFFSET",
					    "AND",
					    "OR",
					    "NOT",
					    "IN",
					    "IS",
					    "NULL",
					    "LIKE",
					    "GLOB",
					    "BETWEEN",
					    "CASE",
					    "WHEN",
					    "THEN",
					    "ELSE",
					    "END",
					    "CAST",
					    "AS",
					    "INTEGER",
					    "TEXT",
					    "name",
					    "kind",
					    "duration_ns",
					    "attributes",
					    "service_name",
					    "start_time",
					    "count",
					    "sum",
					    "min",
					    "max",
					    "p99",
					    "round",
					    "substr",
					    "strftime",
					    "coalesce",
					    "now_ns",
					    "json_extract",
					    "time_bucket_ns",
					    "(",
					    ")",
					    "(",
					    ")",
					    ",",
					    "*",
					    "+",
					    "-",
					    "/",
					    "%",
					    "||",
					    "->>",
					    "=",
					    "<>",
					    "<",
					    ">=",
					    "1",
					    "0",
					    "-1",
					    "2.5",
					    "'a'",
					    "'$.x'",
					    "'%s'",
					    "9223372036854775807",
					    "'unixepoch'",
					    "a0",
					    ";"};
	uint64_t seed = 17;
	int survived = 0;
	for (int n = 0; n < 10000; n++) {
		b.len = 0;
		ow_buf_printf(&b, "SELECT ");
		int len = 1 + (int)(n % 24);
		for (int i = 0; i < len; i++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			ow_buf_printf(&b, "%s ", words[(seed >> 33) % OW_NELEMS(words)]);
		}
		ow_buf_printf(&b, "%s", n % 3 ? "FROM spans" : "");
		ow_buf_add(&b, "", 1);
		taken((const char *)b.data);
		survived++;
	}
	ok(survived == 10000, "10000 random token sequences parsed or declined");
	ow_buf_free(&b);
	return done_testing();
}
