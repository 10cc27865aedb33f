{#
  Incremental marts of the daily run (docs/warehouse.md, "Incremental builds").

  lexrecon.warehouse.build sets LEXRECON_DELTA for an incremental build (a build that starts
  from the previous green build file): a JSON object with
    since            raw table -> newest _dlt_load_id the previous build had read
    changed_upstream model name -> the raw tables upstream of it that changed since
  (from dbt's manifest of the previous build, whose project fingerprint is the same).

  The five delta models (int_time_entries_valued, fct_time_entries: grain 'time_entry';
  int_expenses_unioned: grain 'expense' (Clio expenses are activities);
  int_invoice_lines_unioned, fct_invoice_lines: grain 'line') take their config from
  delta_model_config(grain). delta_since() returns `since` when the model may take only the
  changed rows: it is an incremental run and every changed raw table upstream of the model is
  one of delta_raw_tables() (raw tables whose rows map one to one to the model's rows, keyed by
  its unique key). Otherwise none: the model recomputes all its rows (delta_delete empties it
  first), so the result always equals a full rebuild.

  Delta log: in the first wave of an incremental build (LEXRECON_DELTA has "log": true) each of
  these models records, before its delete and after its insert, how many of its rows are in the
  delta (the rows it deletes and recomputes) in the table _lexrecon_delta.delta_rows, which
  the run's own hooks create and drop (macros/delta_log.sql). Zero both times: the model
  did not change, and the models downstream of it only (through it) need not be rebuilt.

  The data tests of an incremental build read some tests' models through the same delta rows
  (macros/delta_tests.sql).
#}
{# LEXRECON_DELTA as an object ({} outside an incremental build). #}
{% macro delta_spec() %}
    {{ return(fromjson(env_var('LEXRECON_DELTA', '{}'))) }}
{% endmacro %}


{% macro delta_raw_tables() %}
    {{ return(['raw_clio.activities', 'raw_actionstep.timeentries']) }}
{% endmacro %}


{# config() of a delta model of this grain: `{{ config(**delta_model_config('line')) }}`. #}
{% macro delta_model_config(grain) %}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'on_schema_change': 'fail',
        'pre_hook': "{{ delta_delete('" ~ grain ~ "') }}",
        'post_hook': "{{ delta_logged('" ~ grain ~ "') }}",
    }) }}
{% endmacro %}


{% macro delta_since() %}
    {%- if not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(delta_since_of(model.name)) }}
{% endmacro %}


{# delta_since() of the model of this name, without the is_incremental() check (the data tests
   of an incremental build ask it for the model they test: macros/delta_tests.sql). #}
{% macro delta_since_of(model_name) %}
    {%- set spec = delta_spec() -%}
    {%- set changed = spec.get('changed_upstream', {}).get(model_name) -%}
    {%- if changed is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for table in changed -%}
        {%- if table not in delta_raw_tables() -%}
            {{ return(none) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(spec.get('since', {})) }}
{% endmacro %}


{# The time entries (time_entry_key) whose LPM record is new or changed since the marks. #}
{% macro time_entry_delta_keys(since) %}
    select 'clio:' || activity_id as time_entry_key
    from {{ delta_ref('stg_clio__activities') }}
    where dlt_load_id > '{{ since.get("raw_clio.activities") or "" }}'
    union all
    select 'actionstep:' || time_entry_id
    from {{ delta_ref('stg_actionstep__time_entries') }}
    where dlt_load_id > '{{ since.get("raw_actionstep.timeentries") or "" }}'
{% endmacro %}


{# Per LPM ('clio', 'actionstep'), the smallest and largest source id (as text) of the entries
   of time_entry_delta_keys(since): {lpm: [min, max]}, an LPM without delta entries left out.
   Read from the staging tables when the SQL is rendered (run time: after the staging models
   ran); none at parse time. A range prunes nothing a key filter keeps (every delta key lies in
   it), it only lets DuckDB skip, by the zone maps of the column, the row groups holding no
   delta key: a day of new entries carries ids above all older ones, so of a 4M-row table only
   the last row groups are read instead of every key being probed. #}
{% macro delta_key_bounds(since) %}
    {%- if not execute or since is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        select 'clio', min(activity_id), max(activity_id)
        from {{ delta_ref('stg_clio__activities') }}
        where dlt_load_id > '{{ since.get("raw_clio.activities") or "" }}'
        union all
        select 'actionstep', min(time_entry_id), max(time_entry_id)
        from {{ delta_ref('stg_actionstep__time_entries') }}
        where dlt_load_id > '{{ since.get("raw_actionstep.timeentries") or "" }}'
    {%- endset -%}
    {%- set bounds = {} -%}
    {%- for row in run_query(query).rows -%}
        {%- if row[1] is not none -%}
            {%- do bounds.update({row[0]: [row[1], row[2]]}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(bounds) }}
{% endmacro %}


{# A condition every delta key satisfies, from delta_key_bounds(): on `column` holding
   time_entry_key-shaped values ('<lpm>:<source id>'); or, with `system_column`, on a source id
   column plus its LPM column ('clio'/'actionstep'), which DuckDB pushes through a union of
   per-LPM branches onto each branch's id column; or, with `lpm`, on a source id column of that
   LPM. 'true' when the bounds are unknown (parse time), 'false' when there is no delta entry. #}
{% macro delta_key_range(column, bounds, system_column=none, lpm=none) %}
    {%- if bounds is none -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set parts = [] -%}
    {%- for system in ['clio', 'actionstep'] if system in bounds and lpm in [none, system] -%}
        {%- set low, high = bounds[system] -%}
        {%- if system_column is none and lpm is none -%}
            {%- set low, high = system ~ ':' ~ low, system ~ ':' ~ high -%}
        {%- endif -%}
        {%- set condition = column ~ " between '" ~ low | replace("'", "''") ~ "' and '"
                            ~ high | replace("'", "''") ~ "'" -%}
        {%- if system_column is not none -%}
            {%- set condition = '(' ~ system_column ~ " = '" ~ system ~ "' and " ~ condition
                                ~ ')' -%}
        {%- endif -%}
        {%- do parts.append(condition) -%}
    {%- endfor -%}
    {{ return('(' ~ (parts | join(' or ') or 'false') ~ ')') }}
{% endmacro %}


{# time_entry_key-shaped `column` in time_entry_delta_keys(since), and in the zone-map range of
   delta_key_range (bounds: delta_key_bounds(since), none = read them now). A conjunction:
   parenthesize it to combine it with `or`. #}
{% macro delta_key_in(column, since, bounds=none) %}
    {%- set bounds = delta_key_bounds(since) if bounds is none else bounds -%}
    {{ return(column ~ ' in (' ~ time_entry_delta_keys(since) ~ ') and '
              ~ delta_key_range(column, bounds)) }}
{% endmacro %}


{# ref() in a model; in a data test (macros/delta_tests.sql) the model's relation from the
   graph, so that a test's dependencies stay what its arguments name (dbt refuses a ref() at
   run time to a model the node does not depend on). #}
{% macro delta_ref(name) %}
    {%- if model.resource_type == 'test' -%}
        {%- set node = graph.nodes['model.' ~ project_name ~ '.' ~ name] -%}
        {{ return(api.Relation.create(database=node.database, schema=node.schema,
                                      identifier=node.alias)) }}
    {%- endif -%}
    {{ return(ref(name)) }}
{% endmacro %}


{# The rows of an incremental model of this grain ('time_entry', 'expense' or 'line') that a
   delta run deletes and recomputes: a where clause, or none when it recomputes all rows. #}
{% macro delta_rows_filter(grain, since) %}
    {%- if since is none -%}
        {{ return(none) }}
    {%- elif grain == 'time_entry' -%}
        {{ return(delta_key_in('time_entry_key', since)) }}
    {%- elif grain == 'expense' -%}
        {{ return(delta_key_in('expense_key', since)) }}
    {%- else -%}
        {{ return(line_delta_filter(since)) }}
    {%- endif -%}
{% endmacro %}


{# Pre-hook of an incremental model of this grain: log the delta rows (first wave only), then
   drop the rows about to be recomputed (the changed entries' rows, or all rows when the model
   recomputes everything). #}
{% macro delta_delete(grain) %}
    {%- if is_incremental() -%}
        {%- set where = delta_rows_filter(grain, delta_since()) -%}
        {{ delta_log('before', where) }}
        delete from {{ this }}
        {%- if where is not none %}
        where {{ where }}
        {%- endif %}
    {%- endif -%}
{% endmacro %}


{# Post-hook of an incremental model of this grain: log the delta rows after the insert. #}
{% macro delta_logged(grain) %}
    {%- if is_incremental() -%}
        {{ delta_log('after', delta_rows_filter(grain, delta_since())) }}
    {%- endif -%}
{% endmacro %}


{% macro delta_log(phase, where) %}
    {%- if delta_spec().get('log') -%}
        {{ delta_log_counts(phase, where) }}
    {%- endif -%}
{% endmacro %}


{# Invoice lines linked to a new or changed time entry or (Clio) expense entry (bounds:
   delta_key_bounds(since), none = read them now). #}
{% macro line_delta_filter(since, bounds=none) %}
    {%- set bounds = delta_key_bounds(since) if bounds is none else bounds -%}
    (({{ delta_key_in('time_entry_key', since, bounds) }})
     or ({{ delta_key_in('expense_key', since, bounds) }}))
{% endmacro %}
