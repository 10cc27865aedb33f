-- grain: one row per sales-system revenue booking (booking_id), with its role against the LPM
-- invoices (matched on invoice_ref = invoice number; void invoices count as no invoice):
--   without_invoice: invoice_ref null or matching no invoice         -> BOOKING_WITHOUT_INVOICE
--   duplicate:       not the earliest booking (booking_id order) of its invoice and request_id
--                                                                      -> DUPLICATE_BOOKING
--   matched:         the earliest remaining booking of the invoice    -> compared with the invoice
--   extra:           a further booking of the invoice under another request_id -> UNEXPLAINED
with

bookings as (

    select * from {{ ref('stg_sales__revenue_bookings') }}

),

invoices as (

    select * from {{ ref('int_invoices_unioned') }}

),

live_invoices as (

    select invoice_number
    from invoices
    where status <> 'void'

),

ordered as (

    select
        b.*,
        li.invoice_number is not null as has_invoice,
        -- booking ids are text in the warehouse; order them numerically where they are numbers
        row_number() over (
            partition by b.invoice_number, b.request_id
            order by try_cast(b.booking_id as bigint) nulls last, b.booking_id
        ) as request_rank
    from bookings as b
    left join live_invoices as li on li.invoice_number = b.invoice_number

),

leaders as (

    select
        *,
        case when has_invoice and request_rank = 1 then
            row_number() over (
                partition by invoice_number, (has_invoice and request_rank = 1)
                order by try_cast(booking_id as bigint) nulls last, booking_id
            )
        end as invoice_rank
    from ordered

),

final as (

    select
        -- keys
        booking_id,
        case when has_invoice then invoice_number end as invoice_number,
        invoice_number as invoice_ref,
        request_id,
        customer_id,
        matter_number,
        billing_partner_timekeeper_id,
        office,

        -- role
        case
            when not has_invoice then 'without_invoice'
            when request_rank > 1 then 'duplicate'
            when invoice_rank = 1 then 'matched'
            else 'extra'
        end as booking_role,

        -- dates
        booking_date,
        period,
        created_at,

        -- amounts
        currency,
        fees_local,
        expenses_local,
        amount_local,
        split_percentage,
        fx_rate,
        amount_usd
    from leaders

)

select * from final
