-- grain: one row per expense entry (expense_key = '<system>:<source id>') from both LPMs
-- Incremental (macros/incremental_delta.sql, grain 'expense'): when only time entries changed
-- upstream (Clio expenses are activities), only the changed activities' rows are recomputed;
-- otherwise every row is.
-- depends_on: {{ ref('stg_clio__activities') }}
-- depends_on: {{ ref('stg_actionstep__time_entries') }}
{%- set since = delta_since() %}
{%- set bounds = delta_key_bounds(since) %}
{{ config(**delta_model_config('expense')) }}
with

clio_activities as (

    select * from {{ ref('stg_clio__activities') }}

),

clio_bills as (

    select * from {{ ref('stg_clio__bills') }}

),

clio_matters as (

    select * from {{ ref('stg_clio__matters') }}

),

actionstep_disbursements as (

    select * from {{ ref('stg_actionstep__disbursements') }}

),

actionstep_bills as (

    select * from {{ ref('stg_actionstep__bills') }}

),

actionstep_actions as (

    select * from {{ ref('stg_actionstep__actions') }}

),

timekeepers as (

    select * from {{ ref('int_timekeepers_conformed') }}

),

clio as (

    select
        'clio:' || a.activity_id as expense_key,
        'clio' as source_system,
        a.activity_id as source_entry_id,
        a.entry_date,
        tk.timekeeper_id,
        m.matter_number,
        a.quantity,
        a.price as unit_price,
        a.total as amount,
        a.narrative as description,
        a.expense_code,
        not (coalesce(a.is_non_billable, false) or coalesce(a.is_no_charge, false)) as is_billable,
        a.status,
        a.bill_id as source_bill_id,
        b.invoice_number
    from clio_activities as a
    left join clio_matters as m on m.matter_id = a.matter_id
    left join clio_bills as b on b.bill_id = a.bill_id
    left join timekeepers as tk on tk.source_system = 'clio' and tk.source_timekeeper_id = a.user_id
    where a.activity_type = 'ExpenseEntry'
    {%- if since is not none %}
      and {{ delta_key_range('a.activity_id', bounds, lpm='clio') }}
      and 'clio:' || a.activity_id in ({{ time_entry_delta_keys(since) }})
    {%- endif %}

),

actionstep as (

    select
        'actionstep:' || d.disbursement_id,
        'actionstep',
        d.disbursement_id,
        d.entry_date,
        cast(null as varchar),
        m.matter_number,
        d.quantity,
        d.unit_price,
        d.amount,
        d.description,
        d.expense_code,
        true,
        case when d.bill_id is not null then 'billed' else 'unbilled' end,
        d.bill_id,
        b.invoice_number
    from actionstep_disbursements as d
    left join actionstep_actions as m on m.action_id = d.action_id
    left join actionstep_bills as b on b.bill_id = d.bill_id
    {%- if since is not none %}
    where {{ delta_key_range('d.disbursement_id', bounds, lpm='actionstep') }}
      and 'actionstep:' || d.disbursement_id in ({{ time_entry_delta_keys(since) }})
    {%- endif %}

),

final as (

    select * from clio
    union all
    select * from actionstep

)

select * from final
