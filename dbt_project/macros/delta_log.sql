{#
  The delta log of the first wave of an incremental build (docs/warehouse.md, "Incremental
  builds"). lexrecon.warehouse.build sets LEXRECON_DELTA with "log": true and "log_file" for
  that run only. At the start of the run the table _lexrecon_delta.delta_rows is created in the
  build file; each delta model inserts its counts (delta_log in macros/incremental_delta.sql);
  at the end of the run the counts per model go to log_file (one JSON object a line, read by
  lexrecon.warehouse._read_delta_log) and the schema is dropped, so it never reaches a
  published file. Both hooks run inside dbt's own connection: the build needs no other.
#}
{% macro delta_log_open() %}
    {%- if delta_spec().get('log') -%}
        create schema if not exists _lexrecon_delta;
        create or replace table _lexrecon_delta.delta_rows (model varchar, phase varchar, n bigint);
    {%- endif -%}
{% endmacro %}


{% macro delta_log_close() %}
    {%- set spec = delta_spec() -%}
    {%- if spec.get('log') -%}
        copy (
            select model, sum(n)::bigint as n from _lexrecon_delta.delta_rows group by model
        ) to '{{ spec["log_file"] | replace("'", "''") }}' (format json);
        drop schema _lexrecon_delta cascade;
    {%- endif -%}
{% endmacro %}
