-- grain: one row per time entry (time_entry_key), valued at the timekeeper's standard rate in
-- force on the entry date, with what was billed for it and the billing realization
-- Incremental (macros/incremental_delta.sql): when only time entries changed upstream, only the
-- new and changed entries are recomputed; otherwise every row is.
-- depends_on: {{ ref('stg_clio__activities') }}
-- depends_on: {{ ref('stg_actionstep__time_entries') }}
{%- set since = delta_since() %}
{%- set bounds = delta_key_bounds(since) %}
{{ config(**delta_model_config('time_entry')) }}
with

time_entries as (

    select * from {{ ref('int_time_entries_unioned') }}
    {%- if since is not none %}
    -- the id range first: DuckDB pushes it through the view's union onto each staging table's
    -- id column (zone maps), so the view's joins see the delta entries only, not 4M rows
    where {{ delta_key_range('source_entry_id', bounds, system_column='source_system') }}
      and time_entry_key in ({{ time_entry_delta_keys(since) }})
    {%- endif %}

),

rates as (

    select * from {{ ref('int_timekeeper_rates_effective') }}

),

invoice_lines as (

    select * from {{ ref('int_invoice_lines_unioned') }}

),

billed as (

    select
        time_entry_key,
        -- a split bill puts the entry's full hours on each payer's line (the share is in the
        -- adjustment), so billed hours are the largest line quantity, not the sum
        max(quantity) as billed_hours,
        sum(line_total) as billed_amount
    from invoice_lines
    where time_entry_key is not null
    {%- if since is not none %}
      and {{ delta_key_in('time_entry_key', since, bounds) }}
    {%- endif %}
    group by time_entry_key

),

valued as (

    select
        te.*,
        r.standard_rate,
        cast(round(te.hours_worked * r.standard_rate, 2) as decimal(18, 2)) as worked_value_standard,
        b.billed_hours,
        b.billed_amount
    from time_entries as te
    left join rates as r
        on r.timekeeper_id = te.timekeeper_id
        and te.entry_date >= r.valid_from
        and (r.valid_to is null or te.entry_date < r.valid_to)
    left join billed as b on b.time_entry_key = te.time_entry_key

),

final as (

    select
        *,
        {{ safe_ratio('billed_amount', 'worked_value_standard') }} as billing_realization
    from valued

)

select * from final
