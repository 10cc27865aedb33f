{#
  Rows a model reads of a delta model (docs/warehouse.md, "Incremental builds").

  A model that reads only some rows of a delta model (macros/incremental_delta.sql) reads them
  through delta_read(parent, predicate): `from {{ delta_read('int_time_entries_valued',
  "status = 'written_off'") }}` is `(select * from <parent> where <predicate>)`, and the call
  also records the predicate in the model's config (meta key 'delta_read:<parent>'), so the
  build's planner knows it from the parsed project.

  In the first run of an incremental build, the delta model logs, before its delete and after
  its insert, how many of its delta rows match each predicate a model reads it through
  (delta_log_counts, under '<parent>|<model>'). Zero both times: no row the model reads was
  deleted, changed or added, so that parent does not make the model's rows change, and the
  second run leaves the model out unless another parent changed (lexrecon.warehouse.Waves).
#}
{% macro delta_read(parent, predicate) %}
    {%- do config(meta={'delta_read:' ~ parent: predicate}) -%}
    {{ return('(select * from ' ~ ref(parent) ~ ' where ' ~ predicate ~ ')') }}
{% endmacro %}


{# Insert into the delta log this model's delta rows (`where`: none = all its rows), and how
   many of them match each predicate another model reads it through. #}
{% macro delta_log_counts(phase, where) %}
    {%- set keys = ["'" ~ this.identifier ~ "'"] -%}
    {%- set counts = ['count(*)'] -%}
    {%- for node in graph.nodes.values() | sort(attribute='unique_id') -%}
        {%- set predicate = (node.config.meta or {}).get('delta_read:' ~ this.identifier) -%}
        {%- if predicate -%}
            {%- do keys.append("'" ~ this.identifier ~ '|' ~ node.name ~ "'") -%}
            {%- do counts.append('count(*) filter (where ' ~ predicate ~ ')') -%}
        {%- endif -%}
    {%- endfor -%}
    insert into _lexrecon_delta.delta_rows
    select unnest([{{ keys | join(', ') }}]), '{{ phase }}', unnest([{{ counts | join(', ') }}])
    from {{ this }}
    {%- if where is not none %} where {{ where }}{% endif %};
{% endmacro %}
