{#- Casting helpers used by staging models only (renames and casts). -#}

{#- Money to two decimals (LPM and sales money). -#}
{% macro to_money(column) -%}
    cast({{ column }} as decimal(18, 2))
{%- endmacro %}

{#- LEDES money and quantities keep four decimals. -#}
{% macro to_money4(column) -%}
    cast({{ column }} as decimal(18, 4))
{%- endmacro %}

{#- Identifiers are text everywhere, so ids from different systems compare without casts. -#}
{% macro to_id(column) -%}
    cast({{ column }} as varchar)
{%- endmacro %}

{#- A UTC timestamp (without time zone) from a timestamptz, a naive UTC timestamp, or ISO-8601
    text with an offset such as Actionstep's `2026-07-01T10:00:00+12:00`. -#}
{% macro to_utc(column) -%}
    timezone('UTC', cast({{ column }} as timestamptz))
{%- endmacro %}

{#- Actionstep booleans arrive as the text "T"/"F". -#}
{% macro tf_to_bool(column) -%}
    case upper(trim(cast({{ column }} as varchar))) when 'T' then true when 'F' then false end
{%- endmacro %}

{#- A LEDES YYYYMMDD text date; blank or impossible dates become null. -#}
{% macro ledes_date(column) -%}
    try_cast(try_strptime(nullif(trim({{ column }}), ''), '%Y%m%d') as date)
{%- endmacro %}

{#- A LEDES decimal text value (4 places); blank or malformed becomes null. -#}
{% macro ledes_decimal(column) -%}
    try_cast(nullif(trim({{ column }}), '') as decimal(18, 4))
{%- endmacro %}

{#- A LEDES text value, trimmed, blank as null. -#}
{% macro ledes_text(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}

{#- Canonical role for a LEDES timekeeper classification (6-letter or legacy 2-letter). -#}
{% macro timekeeper_role(column) -%}
    case upper({{ column }})
        when 'PARTNR' then 'partner' when 'PT' then 'partner'
        when 'OFCOUN' then 'counsel' when 'OC' then 'counsel'
        when 'ASSOC' then 'associate' when 'AS' then 'associate'
        when 'STFATT' then 'associate' when 'TEMPAT' then 'associate' when 'DOCRAT' then 'associate'
        when 'PARALG' then 'paralegal' when 'LGLAST' then 'paralegal' when 'LA' then 'paralegal'
        else 'other'
    end
{%- endmacro %}

{#- An amount converted to USD at a rate_to_usd, rounded to the cent (the sales system's rule:
    USD = round(total x month-end rate of the invoice month, 2)). -#}
{% macro to_usd(amount, rate) -%}
    cast(round({{ amount }} * {{ rate }}, 2) as decimal(18, 2))
{%- endmacro %}

{#- The body of a staging model's `source` CTE: every row of the raw table, or - when dlt has not
    created the table because the source never sent a row (dlt creates tables on first data;
    e.g. `quarantine` of a clean load, `credit_memos` of a firm without any) - an empty relation
    with the raw columns, so the staging model and everything downstream still build.
    `columns` lists (name, type) of the raw table. -#}
{% macro source_or_empty(source_name, table_name, columns) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- set found = adapter.get_relation(database=relation.database, schema=relation.schema,
                                         identifier=relation.identifier) if execute else relation -%}
    {%- if found is not none -%}
    select * from {{ relation }}
    {%- else -%}
    select
        {%- for name, type in columns %}
        cast(null as {{ type }}) as "{{ name }}"{{ "," if not loop.last }}
        {%- endfor %}
    where false
    {%- endif -%}
{%- endmacro %}
