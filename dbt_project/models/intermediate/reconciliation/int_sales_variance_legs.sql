-- grain: one row per variance event (leg_key): an invoice in its invoice month, its matched
-- booking in another period (TIMING), or a duplicate / extra / invoice-less booking in its
-- period. On every row the causes add up to sales_usd - invoice_usd, so they add up at any
-- grain built from these rows (invoice, month x partner x client, firm).
with

compared as (

    select * from {{ ref('int_invoices_sales_compared') }}

),

bookings as (

    select * from {{ ref('int_sales_bookings_matched') }}

),

matters as (

    select * from {{ ref('int_matters_conformed') }}

),

invoice_legs as (

    select
        'invoice:' || c.invoice_number as leg_key,
        c.invoice_number as variance_key,
        c.invoice_number,
        cast(null as varchar) as booking_id,
        'invoice' as leg_type,
        c.invoice_month as month,
        c.matter_number,
        coalesce(c.payer_client_code, m.client_code) as client_code,
        m.billing_partner_timekeeper_id,
        c.office,
        c.invoice_usd,
        case when c.has_booking and not c.is_timing then c.booking_usd else 0 end as sales_usd,
        case when not c.has_booking then -c.invoice_usd else 0 end as missing_in_sales_usd,
        cast(0 as decimal(18, 2)) as booking_without_invoice_usd,
        cast(0 as decimal(18, 2)) as duplicate_booking_usd,
        case when c.is_timing then -c.invoice_usd else 0 end as timing_usd,
        case when not c.is_timing then c.split_allocation_usd else 0 end as split_allocation_usd,
        case when not c.is_timing then c.rate_definition_usd else 0 end as rate_definition_usd,
        case when not c.is_timing then c.rounding_fx_usd else 0 end as rounding_fx_usd,
        case when not c.is_timing then c.unexplained_usd else 0 end as unexplained_usd
    from compared as c
    left join matters as m on m.matter_number = c.matter_number

),

timing_legs as (

    select
        'timing:' || c.booking_id,
        c.invoice_number,
        c.invoice_number,
        c.booking_id,
        'timing_booking',
        c.booking_period,
        c.matter_number,
        coalesce(c.payer_client_code, m.client_code),
        m.billing_partner_timekeeper_id,
        c.office,
        cast(0 as decimal(18, 2)),
        c.booking_usd,
        cast(0 as decimal(18, 2)),
        cast(0 as decimal(18, 2)),
        cast(0 as decimal(18, 2)),
        c.invoice_usd,
        c.split_allocation_usd,
        c.rate_definition_usd,
        c.rounding_fx_usd,
        c.unexplained_usd
    from compared as c
    left join matters as m on m.matter_number = c.matter_number
    where c.is_timing

),

other_booking_legs as (

    select
        'booking:' || b.booking_id,
        case when b.booking_role = 'without_invoice' then 'booking:' || b.booking_id
             else b.invoice_number end,
        b.invoice_number,
        b.booking_id,
        b.booking_role,
        b.period,
        coalesce(c.matter_number, b.matter_number),
        coalesce(c.payer_client_code, b.customer_id),
        coalesce(m.billing_partner_timekeeper_id, b.billing_partner_timekeeper_id),
        coalesce(c.office, b.office),
        cast(0 as decimal(18, 2)),
        b.amount_usd,
        cast(0 as decimal(18, 2)),
        case when b.booking_role = 'without_invoice' then b.amount_usd else 0 end,
        case when b.booking_role = 'duplicate' then b.amount_usd else 0 end,
        cast(0 as decimal(18, 2)),
        cast(0 as decimal(18, 2)),
        cast(0 as decimal(18, 2)),
        cast(0 as decimal(18, 2)),
        case when b.booking_role = 'extra' then b.amount_usd else 0 end
    from bookings as b
    left join compared as c on c.invoice_number = b.invoice_number
    left join matters as m on m.matter_number = c.matter_number
    where b.booking_role in ('without_invoice', 'duplicate', 'extra')

),

unioned as (

    select * from invoice_legs
    union all
    select * from timing_legs
    union all
    select * from other_booking_legs

),

final as (

    select
        leg_key,
        variance_key,
        invoice_number,
        booking_id,
        leg_type,
        month,
        matter_number,
        client_code,
        billing_partner_timekeeper_id,
        office,
        cast(invoice_usd as decimal(18, 2)) as invoice_usd,
        cast(sales_usd as decimal(18, 2)) as sales_usd,
        cast(sales_usd - invoice_usd as decimal(18, 2)) as variance_usd,
        cast(missing_in_sales_usd as decimal(18, 2)) as missing_in_sales_usd,
        cast(booking_without_invoice_usd as decimal(18, 2)) as booking_without_invoice_usd,
        cast(duplicate_booking_usd as decimal(18, 2)) as duplicate_booking_usd,
        cast(timing_usd as decimal(18, 2)) as timing_usd,
        cast(split_allocation_usd as decimal(18, 2)) as split_allocation_usd,
        cast(rate_definition_usd as decimal(18, 2)) as rate_definition_usd,
        cast(rounding_fx_usd as decimal(18, 2)) as rounding_fx_usd,
        cast(unexplained_usd as decimal(18, 2)) as unexplained_usd
    from unioned

)

select * from final
