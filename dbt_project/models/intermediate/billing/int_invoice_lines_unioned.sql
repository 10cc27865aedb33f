-- grain: one row per LPM invoice line (invoice_line_key = '<system>:<source line id>');
-- (invoice_number, line_number) is unique too
-- Incremental (macros/incremental_delta.sql): when only time entries changed upstream, only the
-- lines of new and changed entries are recomputed; otherwise every row is.
-- depends_on: {{ ref('stg_clio__activities') }}
-- depends_on: {{ ref('stg_actionstep__time_entries') }}
{%- set since = delta_since() %}
{%- set bounds = delta_key_bounds(since) %}
{{ config(**delta_model_config('line')) }}
with

clio_line_items as (

    select * from {{ ref('stg_clio__line_items') }}

),

clio_bills as (

    select * from {{ ref('stg_clio__bills') }}

),

actionstep_bill_lines as (

    select * from {{ ref('stg_actionstep__bill_lines') }}

),

actionstep_bills as (

    select * from {{ ref('stg_actionstep__bills') }}

),

timekeepers as (

    select * from {{ ref('int_timekeepers_conformed') }}

),

clio as (

    select
        'clio:' || l.line_item_id as invoice_line_key,
        'clio' as source_system,
        l.line_item_id as source_line_id,
        b.invoice_number,
        l.line_number,
        case when l.kind = 'Expense' then 'E' else 'F' end as line_type,
        l.line_date,
        l.description,
        l.quantity,
        l.price as unit_price,
        coalesce(l.adjustment, 0) as adjustment_amount,
        l.total as line_total,
        tk.timekeeper_id,
        case when l.kind = 'Expense' then null else 'clio:' || l.activity_id end as time_entry_key,
        case when l.kind = 'Expense' then 'clio:' || l.activity_id end as expense_key
    from clio_line_items as l
    inner join clio_bills as b on b.bill_id = l.bill_id
    left join timekeepers as tk on tk.source_system = 'clio' and tk.source_timekeeper_id = l.user_id
    {%- if since is not none %}
    -- a line of a delta entry has its activity id in the delta's range (zone maps: only the row
    -- groups that may hold one are read and joined); delta_lines keeps exactly the delta lines
    where {{ delta_key_range('l.activity_id', bounds, lpm='clio') }}
    {%- endif %}

),

actionstep as (

    select
        'actionstep:' || l.bill_line_id,
        'actionstep',
        l.bill_line_id,
        b.invoice_number,
        l.line_number,
        l.line_type,
        l.line_date,
        l.description,
        l.quantity,
        l.unit_price,
        coalesce(l.adjustment, 0),
        l.amount,
        null,
        case when l.time_entry_id is not null then 'actionstep:' || l.time_entry_id end,
        case when l.disbursement_id is not null then 'actionstep:' || l.disbursement_id end
    from actionstep_bill_lines as l
    inner join actionstep_bills as b on b.bill_id = l.bill_id
    {%- if since is not none %}
    where {{ delta_key_range('l.time_entry_id', bounds, lpm='actionstep') }}
       or {{ delta_key_range('l.disbursement_id', bounds, lpm='actionstep') }}
    {%- endif %}

),

unioned as (

    select * from clio
    union all
    select * from actionstep

),

delta_lines as (

    select * from unioned
    {%- if since is not none %}
    where {{ line_delta_filter(since, bounds) }}
    {%- endif %}

),

time_entries as (

    select * from {{ ref('int_time_entries_unioned') }}
    {%- if since is not none %}
    -- only the entries of the lines recomputed (a semi-join: no hash table of every entry)
    where time_entry_key in (select time_entry_key from delta_lines)
    {%- endif %}

),

expenses as (

    select * from {{ ref('int_expenses_unioned') }}
    {%- if since is not none %}
    where expense_key in (select expense_key from delta_lines)
    {%- endif %}

),

final as (

    select
        u.invoice_line_key,
        u.source_system,
        u.source_line_id,
        u.invoice_number,
        u.line_number,
        u.line_type,
        u.line_date,
        u.description,
        u.quantity,
        u.unit_price,
        cast(u.adjustment_amount as decimal(18, 2)) as adjustment_amount,
        u.line_total,
        coalesce(u.timekeeper_id, te.timekeeper_id, ex.timekeeper_id) as timekeeper_id,
        u.time_entry_key,
        u.expense_key,
        te.task_code,
        te.activity_code,
        ex.expense_code
    from delta_lines as u
    left join time_entries as te on te.time_entry_key = u.time_entry_key
    left join expenses as ex on ex.expense_key = u.expense_key

)

select * from final
