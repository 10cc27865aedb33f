-- grain: one row per AR write-off (Clio credit memo or Actionstep write-off) of a billed invoice
with

clio_credit_memos as (

    select * from {{ ref('stg_clio__credit_memos') }}

),

clio_bills as (

    select * from {{ ref('stg_clio__bills') }}

),

actionstep_write_offs as (

    select * from {{ ref('stg_actionstep__write_offs') }}

),

actionstep_bills as (

    select * from {{ ref('stg_actionstep__bills') }}

),

clio as (

    select
        'clio:' || c.credit_memo_id as ar_write_off_key,
        'clio' as source_system,
        c.credit_memo_id as source_write_off_id,
        b.invoice_number,
        c.write_off_date,
        c.amount,
        b.currency,
        c.reason
    from clio_credit_memos as c
    left join clio_bills as b on b.bill_id = c.bill_id

),

actionstep as (

    select
        'actionstep:' || w.write_off_id,
        'actionstep',
        w.write_off_id,
        b.invoice_number,
        w.write_off_date,
        w.amount,
        b.currency,
        w.reason
    from actionstep_write_offs as w
    left join actionstep_bills as b on b.bill_id = w.bill_id

),

final as (

    select * from clio
    union all
    select * from actionstep

)

select * from final
