-- grain: one row per variance_key: every non-void LPM invoice (variance_key = invoice number)
-- and every sales booking without an invoice (variance_key = 'booking:<booking_id>').
-- variance_usd = sales_amount_usd - invoice_usd = the sum of the eight cause columns, to the cent.
with

legs as (

    select * from {{ ref('int_sales_variance_legs') }}

),

compared as (

    select * from {{ ref('int_invoices_sales_compared') }}

),

bookings as (

    select * from {{ ref('int_sales_bookings_matched') }}

),

summed as (

    select
        variance_key,
        any_value(invoice_number) as invoice_number,
        any_value(case when leg_type = 'without_invoice' then booking_id end) as orphan_booking_id,
        string_agg(case when leg_type = 'duplicate' then booking_id end, ','
                   order by try_cast(booking_id as bigint), booking_id) as duplicate_booking_ids,
        any_value(matter_number) as matter_number,
        any_value(client_code) as client_code,
        any_value(billing_partner_timekeeper_id) as billing_partner_timekeeper_id,
        any_value(office) as office,
        min(month) as first_month,
        sum(invoice_usd) as invoice_usd,
        sum(sales_usd) as sales_amount_usd,
        sum(missing_in_sales_usd) as missing_in_sales_usd,
        sum(booking_without_invoice_usd) as booking_without_invoice_usd,
        sum(duplicate_booking_usd) as duplicate_booking_usd,
        sum(timing_usd) as timing_usd,
        sum(split_allocation_usd) as split_allocation_usd,
        sum(rate_definition_usd) as rate_definition_usd,
        sum(rounding_fx_usd) as rounding_fx_usd,
        sum(unexplained_usd) as unexplained_usd
    from legs
    group by variance_key

),

joined as (

    select
        s.*,
        c.invoice_date,
        c.invoice_month,
        coalesce(c.booking_period, ob.period) as booking_period,
        coalesce(c.booking_id, s.orphan_booking_id) as booking_id,
        coalesce(c.is_timing, false) as is_timing,
        case when c.is_timing then c.invoice_usd else 0 end as timing_moved_usd,
        coalesce(c.currency, ob.currency) as currency,
        c.total_amount as invoice_total_local,
        c.month_end_rate
    from summed as s
    left join compared as c on c.invoice_number = s.variance_key
    left join bookings as ob on ob.booking_id = s.orphan_booking_id

),

final as (

    select
        -- keys
        variance_key,
        invoice_number,
        booking_id,
        duplicate_booking_ids,
        matter_number,
        client_code,
        billing_partner_timekeeper_id,
        office,

        -- dates
        invoice_date,
        invoice_month,
        booking_period,
        coalesce(invoice_month, booking_period) as variance_month,

        -- classification
        case
            when missing_in_sales_usd <> 0 then 'MISSING_IN_SALES'
            when booking_without_invoice_usd <> 0 then 'BOOKING_WITHOUT_INVOICE'
            when duplicate_booking_usd <> 0 then 'DUPLICATE_BOOKING'
            when is_timing then 'TIMING'
            when split_allocation_usd <> 0 then 'SPLIT_ALLOCATION'
            when rate_definition_usd <> 0 then 'RATE_DEFINITION'
            when rounding_fx_usd <> 0 then 'ROUNDING_FX'
            when unexplained_usd <> 0 then 'UNEXPLAINED'
            else 'MATCHED'
        end as primary_cause,
        is_timing,

        -- amounts (USD unless named local)
        currency,
        cast(invoice_total_local as decimal(18, 2)) as invoice_total_local,
        cast(month_end_rate as decimal(18, 6)) as month_end_rate,
        cast(invoice_usd as decimal(18, 2)) as invoice_usd,
        cast(sales_amount_usd as decimal(18, 2)) as sales_amount_usd,
        cast(sales_amount_usd - invoice_usd as decimal(18, 2)) as variance_usd,
        cast(missing_in_sales_usd as decimal(18, 2)) as missing_in_sales_usd,
        cast(booking_without_invoice_usd as decimal(18, 2)) as booking_without_invoice_usd,
        cast(duplicate_booking_usd as decimal(18, 2)) as duplicate_booking_usd,
        cast(timing_usd as decimal(18, 2)) as timing_usd,
        cast(split_allocation_usd as decimal(18, 2)) as split_allocation_usd,
        cast(rate_definition_usd as decimal(18, 2)) as rate_definition_usd,
        cast(rounding_fx_usd as decimal(18, 2)) as rounding_fx_usd,
        cast(unexplained_usd as decimal(18, 2)) as unexplained_usd,
        cast(timing_moved_usd as decimal(18, 2)) as timing_moved_usd
    from joined

)

select * from final
