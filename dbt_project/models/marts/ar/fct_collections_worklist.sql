-- grain: one row per invoice with open AR at the data's as-of date (the latest AR event, or var
-- ar_as_of_date); priority_rank orders each billing partner's list: oldest past-due bucket first,
-- then largest open USD amount
with

open_items as (

    {{ ar_aging_sql(
        ref('int_invoices_unioned'), ref('int_payments_unioned'), ref('int_ar_write_offs_unioned'),
        ref('stg_ebilling__status_history'), ref('int_matters_conformed'), ref('int_fx_month_end_rates'),
        data_as_of_date(ref('int_invoices_unioned'), ref('int_payments_unioned'),
                        ref('int_ar_write_offs_unioned'), ref('stg_ebilling__status_history'))
    ) }}

),

clients as (

    select * from {{ ref('int_clients_conformed') }}

),

timekeepers as (

    select * from {{ ref('int_timekeepers_conformed') }}

),

invoices as (

    select * from {{ ref('int_invoices_unioned') }}

),

ebilling as (

    select * from {{ ref('int_ebilling_invoices_latest') }}

),

last_payment as (

    select invoice_number, max(payment_date) as last_payment_date
    from {{ ref('int_payments_unioned') }}
    where not is_voided
    group by invoice_number

),

final as (

    select
        -- keys
        o.invoice_number,
        o.matter_number,
        o.client_code,
        o.payer_client_code,
        o.billing_partner_timekeeper_id,
        o.office,

        -- dates
        o.as_of_date,
        o.invoice_date,
        o.due_date,
        lp.last_payment_date,

        -- ageing
        o.days_since_invoice,
        o.days_past_due,
        o.aging_bucket_invoice_date,
        o.aging_bucket_due_date,
        o.aging_bucket_due_date_order,

        -- who and where
        c.client_name,
        payer.client_name as payer_name,
        tk.timekeeper_name as billing_partner_name,
        eb.platform as ebilling_platform,
        o.ebilling_status,

        -- amounts
        o.currency,
        o.billed_amount,
        o.collected_amount,
        o.written_off_amount,
        o.open_amount,
        o.open_amount_usd,
        eb.approved_total as ebilling_approved_total,

        cast(row_number() over (
            partition by o.billing_partner_timekeeper_id
            order by o.aging_bucket_due_date_order desc, o.open_amount_usd desc nulls last, o.invoice_number
        ) as integer) as priority_rank
    from open_items as o
    left join clients as c on c.client_code = o.client_code
    left join clients as payer on payer.client_code = o.payer_client_code
    left join timekeepers as tk on tk.timekeeper_id = o.billing_partner_timekeeper_id
    left join ebilling as eb on eb.invoice_number = o.invoice_number
    left join last_payment as lp on lp.invoice_number = o.invoice_number
    where o.open_amount > 0

)

select * from final
