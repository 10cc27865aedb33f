-- grain: one row per LPM payment applied to an invoice (payment_key = '<system>:<source id>')
with

clio_allocations as (

    select * from {{ ref('stg_clio__allocations') }}

),

clio_bills as (

    select * from {{ ref('stg_clio__bills') }}

),

actionstep_receipts as (

    select * from {{ ref('stg_actionstep__receipts') }}

),

actionstep_bills as (

    select * from {{ ref('stg_actionstep__bills') }}

),

clio as (

    select
        'clio:' || a.allocation_id as payment_key,
        'clio' as source_system,
        a.allocation_id as source_payment_id,
        b.invoice_number,
        a.payment_date,
        a.amount,
        b.currency,
        a.payment_type,
        a.voided_at is not null as is_voided
    from clio_allocations as a
    left join clio_bills as b on b.bill_id = a.bill_id

),

actionstep as (

    select
        'actionstep:' || r.receipt_id,
        'actionstep',
        r.receipt_id,
        b.invoice_number,
        r.payment_date,
        r.amount,
        b.currency,
        cast(null as varchar),
        false
    from actionstep_receipts as r
    left join actionstep_bills as b on b.bill_id = r.bill_id

),

final as (

    select * from clio
    union all
    select * from actionstep

)

select * from final
