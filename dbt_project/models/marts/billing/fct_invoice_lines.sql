-- grain: one row per LPM invoice line (invoice_line_key); (invoice_number, line_number) unique
-- Incremental like int_invoice_lines_unioned (macros/incremental_delta.sql).
-- depends_on: {{ ref('stg_clio__activities') }}
-- depends_on: {{ ref('stg_actionstep__time_entries') }}
{%- set since = delta_since() %}
{%- set bounds = delta_key_bounds(since) %}
{{ config(**delta_model_config('line')) }}
with

lines as (

    select * from {{ ref('int_invoice_lines_unioned') }}
    {%- if since is not none %}
    where {{ line_delta_filter(since, bounds) }}
    {%- endif %}

),

invoices as (

    select * from {{ ref('int_invoices_unioned') }}

),

matters as (

    select * from {{ ref('int_matters_conformed') }}

),

time_entries as (

    select * from {{ ref('int_time_entries_valued') }}
    {%- if since is not none %}
    -- only the entries of the lines recomputed (a semi-join: no hash table of every entry)
    where time_entry_key in (select time_entry_key from lines)
    {%- endif %}

),

ledes_lines as (

    select * from {{ ref('stg_ledes__ledes_lines') }}

),

fx as (

    select * from {{ ref('int_fx_month_end_rates') }}

),

ledes_first as (

    select invoice_number, line_item_number, line_item_total,
        row_number() over (partition by invoice_number, line_item_number order by file_name, record_no) as rn
    from ledes_lines
    {%- if since is not none %}
    -- only the invoices of the lines recomputed: whole partitions, so the same row numbers
    where invoice_number in (select invoice_number from lines)
    {%- endif %}

),

final as (

    select
        -- keys
        l.invoice_line_key,
        l.invoice_number,
        l.line_number,
        l.source_system,
        l.source_line_id,
        i.matter_number,
        m.client_code,
        m.billing_partner_timekeeper_id,
        l.timekeeper_id,
        l.time_entry_key,
        l.expense_key,

        -- dates
        l.line_date,
        i.invoice_date,

        -- attributes
        l.line_type,
        l.task_code,
        l.activity_code,
        l.expense_code,
        l.description,
        i.status = 'void' as is_void,

        -- amounts
        i.currency,
        l.quantity,
        l.unit_price,
        l.adjustment_amount,
        l.line_total,
        {{ to_usd('l.line_total', 'fx.rate_to_usd') }} as line_total_usd,
        te.standard_rate,
        case when l.time_entry_key is not null
             then cast(round(l.quantity * te.standard_rate, 2) as decimal(18, 2)) end as billed_hours_value_standard,
        lf.line_item_total as ledes_line_item_total,
        cast(lf.line_item_total - l.line_total as decimal(18, 4)) as ledes_minus_lpm_line_total
    from lines as l
    inner join invoices as i on i.invoice_number = l.invoice_number
    left join matters as m on m.matter_number = i.matter_number
    left join time_entries as te on te.time_entry_key = l.time_entry_key
    left join ledes_first as lf
        on lf.invoice_number = l.invoice_number and lf.line_item_number = l.line_number and lf.rn = 1
    left join fx
        on fx.currency = upper(i.currency) and fx.month = strftime(i.invoice_date, '%Y-%m')

)

select * from final
