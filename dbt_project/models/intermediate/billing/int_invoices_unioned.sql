-- grain: one row per LPM invoice (invoice_number) from both LPMs, void invoices included
with

clio_bills as (

    select * from {{ ref('stg_clio__bills') }}

),

clio_contacts as (

    select * from {{ ref('stg_clio__contacts') }}

),

clio_matters as (

    select * from {{ ref('stg_clio__matters') }}

),

actionstep_bills as (

    select * from {{ ref('stg_actionstep__bills') }}

),

actionstep_participants as (

    select * from {{ ref('stg_actionstep__participants') }}

),

actionstep_actions as (

    select * from {{ ref('stg_actionstep__actions') }}

),

clio as (

    select
        b.invoice_number,
        'clio' as source_system,
        'NYC' as office,
        b.bill_id as source_bill_id,
        m.matter_number,
        payer.client_code as payer_client_code,
        b.invoice_date,
        b.due_date,
        b.billing_start_date,
        b.billing_end_date,
        b.state as source_status,
        case b.state when 'void' then 'void' when 'paid' then 'paid' else 'open' end as status,
        b.currency,
        b.sub_total as subtotal_amount,
        b.tax_total as tax_amount,
        b.total as total_amount,
        b.split_percentage,
        b.paid as lpm_paid_amount,
        b.balance as lpm_balance_amount
    from clio_bills as b
    left join clio_matters as m on m.matter_id = b.matter_id
    left join clio_contacts as payer on payer.contact_id = b.payer_contact_id

),

actionstep as (

    select
        b.invoice_number,
        'actionstep',
        'LDN',
        b.bill_id,
        a.matter_number,
        payer.client_code,
        b.invoice_date,
        b.due_date,
        b.billing_start_date,
        b.billing_end_date,
        b.status,
        case b.status when 'Deleted' then 'void' when 'Closed' then 'paid' else 'open' end,
        b.currency,
        b.total_exclusive,
        b.tax_total,
        b.total,
        b.split_percentage,
        b.paid,
        b.due
    from actionstep_bills as b
    left join actionstep_actions as a on a.action_id = b.action_id
    left join actionstep_participants as payer on payer.participant_id = b.payer_participant_id

),

final as (

    select * from clio
    union all
    select * from actionstep

)

select * from final
