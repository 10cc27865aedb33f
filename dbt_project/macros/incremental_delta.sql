{#
  Incremental marts of the daily run (docs/warehouse.md, "Incremental builds").

  lexrecon.warehouse.build sets LEXRECON_DELTA for an incremental build (a build that starts
  from the previous green build file): a JSON object with
    since            raw table -> newest _dlt_load_id the previous build had read
    changed_upstream model name -> the raw tables upstream of it that changed since
  (from dbt's manifest of the previous build, whose project fingerprint is the same).

  delta_since(allowed) returns `since` when this model may take only the changed rows: it is
  an incremental run and every changed raw table upstream of the model is in `allowed` (raw
  tables whose rows map one to one to this model's rows, keyed by the model's unique key).
  Otherwise none: the model recomputes all its rows (delete_rows(none) empties it first), so
  the result always equals a full rebuild.
#}
{% macro delta_since(allowed) %}
    {%- if not is_incremental() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set spec = fromjson(env_var('LEXRECON_DELTA', '{}')) -%}
    {%- set changed = spec.get('changed_upstream', {}).get(model.name) -%}
    {%- if changed is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for table in changed -%}
        {%- if table not in allowed -%}
            {{ return(none) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(spec.get('since', {})) }}
{% endmacro %}


{# The time entries (time_entry_key) whose LPM record is new or changed since the marks. #}
{% macro time_entry_delta_keys(since) %}
    select 'clio:' || activity_id as time_entry_key
    from {{ ref('stg_clio__activities') }}
    where dlt_load_id > '{{ since.get("raw_clio.activities") or "" }}'
    union all
    select 'actionstep:' || time_entry_id
    from {{ ref('stg_actionstep__time_entries') }}
    where dlt_load_id > '{{ since.get("raw_actionstep.timeentries") or "" }}'
{% endmacro %}


{# Pre-hook of a time-entry grain incremental model: drop the rows about to be recomputed
   (the changed entries' rows, or all rows when the model recomputes everything). #}
{% macro time_entry_delta_delete(allowed) %}
    {%- if is_incremental() -%}
        {%- set since = delta_since(allowed) -%}
        delete from {{ this }}
        {%- if since is not none %}
        where time_entry_key in ({{ time_entry_delta_keys(since) }})
        {%- endif %}
    {%- endif -%}
{% endmacro %}


{# Invoice lines linked to a new or changed time entry or (Clio) expense entry. #}
{% macro line_delta_filter(since, prefix='') %}
    ({{ prefix }}time_entry_key in ({{ time_entry_delta_keys(since) }})
     or {{ prefix }}expense_key in ({{ time_entry_delta_keys(since) }}))
{% endmacro %}


{# Pre-hook of an invoice-line grain incremental model (see time_entry_delta_delete). #}
{% macro line_delta_delete(allowed) %}
    {%- if is_incremental() -%}
        {%- set since = delta_since(allowed) -%}
        delete from {{ this }}
        {%- if since is not none %}
        where {{ line_delta_filter(since) }}
        {%- endif %}
    {%- endif -%}
{% endmacro %}
