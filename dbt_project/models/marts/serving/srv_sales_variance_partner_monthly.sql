-- grain: one row per month x billing partner
-- fct_sales_variance_monthly (month x billing partner x client) summed over clients: the
-- variance page's month and partner views and its waterfall read this when no client is chosen.
select
    month,
    billing_partner_timekeeper_id,
    cast(count(*) as bigint) as client_rows,
    cast(sum(invoice_count) as bigint) as invoice_count,
    cast(sum(booking_count) as bigint) as booking_count,
    cast(sum(invoice_usd) as decimal(18, 2)) as invoice_usd,
    cast(sum(sales_amount_usd) as decimal(18, 2)) as sales_amount_usd,
    cast(sum(variance_usd) as decimal(18, 2)) as variance_usd,
    cast(sum(missing_in_sales_usd) as decimal(18, 2)) as missing_in_sales_usd,
    cast(sum(booking_without_invoice_usd) as decimal(18, 2)) as booking_without_invoice_usd,
    cast(sum(duplicate_booking_usd) as decimal(18, 2)) as duplicate_booking_usd,
    cast(sum(timing_usd) as decimal(18, 2)) as timing_usd,
    cast(sum(split_allocation_usd) as decimal(18, 2)) as split_allocation_usd,
    cast(sum(rate_definition_usd) as decimal(18, 2)) as rate_definition_usd,
    cast(sum(rounding_fx_usd) as decimal(18, 2)) as rounding_fx_usd,
    cast(sum(unexplained_usd) as decimal(18, 2)) as unexplained_usd
from {{ ref('fct_sales_variance_monthly') }}
group by month, billing_partner_timekeeper_id
order by month, billing_partner_timekeeper_id
