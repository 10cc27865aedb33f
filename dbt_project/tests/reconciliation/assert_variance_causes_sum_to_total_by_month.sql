-- why: the monthly variance (month x billing partner x client) is what finance explains to
-- partners ("this month's invoice file is 5% off the sales system"); every row's causes
-- must add up to its sales - invoice difference to the cent, TIMING included.
select
    variance_monthly_key,
    variance_usd,
    missing_in_sales_usd + booking_without_invoice_usd + duplicate_booking_usd + timing_usd
        + split_allocation_usd + rate_definition_usd + rounding_fx_usd + unexplained_usd as causes_usd
from {{ ref('fct_sales_variance_monthly') }}
where variance_usd <> sales_amount_usd - invoice_usd
   or variance_usd <> missing_in_sales_usd + booking_without_invoice_usd + duplicate_booking_usd
        + timing_usd + split_allocation_usd + rate_definition_usd + rounding_fx_usd + unexplained_usd
