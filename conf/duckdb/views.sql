-- views.sql - DuckDB reading OpenWit's Parquet parts with every attribute.
--
-- A part of spans or logs keeps its most frequent attribute keys as typed
-- columns of their own, "attributes.<key>:<t>", t the type's letter (i,
-- f, b, s: a key of two types in two parts is two columns, never one
-- widened; shredding: README, Storage),
-- listed in the part's key-value metadata "openwit.shredded"; its
-- attributes column keeps the other keys. openwit(files) reads parts
-- (a list of paths or a glob; parts differ in their shredded columns, so
-- by name) with attributes whole again: the rest merged with the shredded
-- columns that have a value, and the shredded columns and the column of
-- their order ("attributes#order", for OpenWit's own reader) left out. Every
-- other column is as stored. A shredded column holds integers (BIGINT),
-- doubles, booleans, or strings as their JSON text (VARCHAR, '"GET"'):
-- where one part has a key as integers and another as strings, the union
-- is text, and every text reads back as the JSON it holds, of its type. It
-- reads parts of any signal, shredded or not.
--
--   .read conf/duckdb/views.sql
--   SELECT attributes->>'http.route', count(*)
--   FROM openwit('data/parquet/acme/traces/**/*.parquet') GROUP BY 1;
--
-- Keys come out in another order than the exporter's when a part shredded
-- some (OpenWit's own SQL gives them in its order); values are the same.
CREATE OR REPLACE MACRO openwit(files) AS TABLE
SELECT COLUMNS(lambda c: c NOT LIKE 'attributes.%' AND c <> 'attributes#order'
                       AND c <> 'openwit_shredded')
FROM (SELECT * REPLACE (CASE WHEN attributes IS NOT NULL THEN json_merge_patch(attributes,
          to_json(map_from_entries(list_transform(
              list_filter(json_keys(openwit_shredded), lambda k: k LIKE 'attributes.%'
                  AND json_type(json_extract(openwit_shredded, k)) <> 'NULL'),
              lambda k: {'k': regexp_replace(substr(k, 12), ':[ifbs]$', ''), 'v':
                  CASE WHEN json_type(json_extract(openwit_shredded, k)) = 'VARCHAR'
                  THEN json(json_extract_string(openwit_shredded, k))
                  ELSE json_extract(openwit_shredded, k) END}))))
          END AS attributes)
      FROM (SELECT *, to_json(struct_pack(*COLUMNS('(?s)^attributes(\..*)?$'))) AS openwit_shredded
            FROM read_parquet(files, union_by_name = true)));
