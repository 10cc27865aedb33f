-- grain: one row per month x billing partner x client (month = invoice month for the invoice
-- side, booking period for the sales side): the invoice file vs the sales system in USD, and the
-- difference split into causes that add up to it to the cent. TIMING is non-zero here: it
-- moves an invoice's amount out of its invoice month into the booking's period.
with

legs as (

    select * from {{ ref('int_sales_variance_legs') }}

),

rolled as (

    select
        month,
        coalesce(billing_partner_timekeeper_id, '(none)') as billing_partner_timekeeper_id,
        coalesce(client_code, '(none)') as client_code,
        count(distinct case when leg_type = 'invoice' then invoice_number end) as invoice_count,
        count(distinct case when leg_type <> 'invoice' or sales_usd <> 0 then coalesce(booking_id, invoice_number) end)
            as booking_count,
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
    group by all

),

final as (

    select
        -- keys
        month || '|' || billing_partner_timekeeper_id || '|' || client_code as variance_monthly_key,
        month,
        billing_partner_timekeeper_id,
        client_code,

        -- counts
        cast(invoice_count as bigint) as invoice_count,
        cast(booking_count as bigint) as booking_count,

        -- amounts (USD)
        cast(invoice_usd as decimal(18, 2)) as invoice_usd,
        cast(sales_amount_usd as decimal(18, 2)) as sales_amount_usd,
        cast(sales_amount_usd - invoice_usd as decimal(18, 2)) as variance_usd,
        case when invoice_usd <> 0
            then cast(round((sales_amount_usd - invoice_usd) * 100 / invoice_usd, 2) as decimal(18, 2))
        end as variance_pct,
        cast(missing_in_sales_usd as decimal(18, 2)) as missing_in_sales_usd,
        cast(booking_without_invoice_usd as decimal(18, 2)) as booking_without_invoice_usd,
        cast(duplicate_booking_usd as decimal(18, 2)) as duplicate_booking_usd,
        cast(timing_usd as decimal(18, 2)) as timing_usd,
        cast(split_allocation_usd as decimal(18, 2)) as split_allocation_usd,
        cast(rate_definition_usd as decimal(18, 2)) as rate_definition_usd,
        cast(rounding_fx_usd as decimal(18, 2)) as rounding_fx_usd,
        cast(unexplained_usd as decimal(18, 2)) as unexplained_usd
    from rolled

)

select * from final
