-- grain: one row per invoice number seen in any system: LPM bill number, LEDES INVOICE_NUMBER,
-- e-billing invoiceNumber, sales booking invoice_ref (bookings with a null invoice_ref are not
-- here: they have no key; see stg_sales__revenue_bookings)
with

lpm_invoices as (

    select * from {{ ref('int_invoices_unioned') }}

),

ledes_invoices as (

    select * from {{ ref('int_ledes_invoices_summarised') }}

),

ebilling_invoices as (

    select * from {{ ref('int_ebilling_invoices_latest') }}

),

bookings as (

    select * from {{ ref('stg_sales__revenue_bookings') }}

),

ebilling_payments as (

    select invoice_number, sum(amount) as ebilling_paid_amount, max(payment_date) as ebilling_last_payment_date
    from {{ ref('stg_ebilling__payments') }}
    group by invoice_number

),

sales_by_invoice as (

    select
        invoice_number,
        count(*) as sales_booking_count,
        count(distinct request_id) as sales_request_count,
        sum(amount_local) as sales_amount_local,
        sum(amount_usd) as sales_amount_usd,
        min(period) as sales_first_period
    from bookings
    where invoice_number is not null
    group by invoice_number

),

invoice_numbers as (

    select invoice_number from lpm_invoices
    union
    select invoice_number from ledes_invoices
    union
    select invoice_number from ebilling_invoices
    union
    select invoice_number from sales_by_invoice

),

final as (

    select
        -- keys
        n.invoice_number,
        lpm.source_system as lpm_source_system,
        lpm.source_bill_id as lpm_bill_id,
        eb.ebilling_invoice_id,

        -- presence
        lpm.invoice_number is not null as is_in_lpm,
        ledes.invoice_number is not null as is_in_ledes,
        eb.invoice_number is not null as is_in_ebilling,
        s.invoice_number is not null as is_in_sales,

        -- dates and attributes
        coalesce(lpm.invoice_date, ledes.invoice_date, eb.invoice_date) as invoice_date,
        coalesce(lpm.currency, eb.currency) as currency,
        lpm.status as lpm_status,
        eb.platform as ebilling_platform,
        eb.ebilling_status,
        eb.ebilling_status_at,
        eb.submission_count as ebilling_submission_count,

        -- amounts
        lpm.total_amount as lpm_total_amount,
        ledes.invoice_total as ledes_invoice_total,
        ledes.sum_line_item_total as ledes_sum_line_item_total,
        eb.submitted_total as ebilling_submitted_total,
        eb.approved_total as ebilling_approved_total,
        ep.ebilling_paid_amount,
        ep.ebilling_last_payment_date,
        s.sales_booking_count,
        s.sales_request_count,
        s.sales_amount_local,
        s.sales_amount_usd,

        -- differences (null when either side is missing)
        cast(ledes.invoice_total - lpm.total_amount as decimal(18, 4)) as ledes_minus_lpm_total,
        cast(eb.submitted_total - lpm.total_amount as decimal(18, 2)) as ebilling_minus_lpm_total,
        cast(s.sales_amount_local - lpm.total_amount as decimal(18, 2)) as sales_minus_lpm_total,

        case
            when lpm.invoice_number is null then 'not_in_lpm'
            when s.invoice_number is null and lpm.status <> 'void' then 'missing_in_sales'
            when ledes.invoice_number is not null and ledes.invoice_total <> lpm.total_amount then 'ledes_total_differs'
            when eb.invoice_number is not null and eb.submitted_total <> lpm.total_amount then 'ebilling_total_differs'
            else 'matched'
        end as match_status
    from invoice_numbers as n
    left join lpm_invoices as lpm on lpm.invoice_number = n.invoice_number
    left join ledes_invoices as ledes on ledes.invoice_number = n.invoice_number
    left join ebilling_invoices as eb on eb.invoice_number = n.invoice_number
    left join sales_by_invoice as s on s.invoice_number = n.invoice_number
    left join ebilling_payments as ep on ep.invoice_number = n.invoice_number

)

select * from final
