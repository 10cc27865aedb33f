-- grain: one row per as-of date x billing partner x office x client x matter x due-date bucket
-- The dashboard's aging page and overview AR read this instead of fct_ar_aging (one row per
-- as-of date and open invoice): the same sums, a fraction of the rows.
select
    as_of_date,
    billing_partner_timekeeper_id,
    office,
    client_code,
    matter_number,
    aging_bucket_due_date,
    cast(count(*) as bigint) as open_invoices,
    cast(sum(open_amount_usd) as decimal(18, 2)) as open_amount_usd
from {{ ref('fct_ar_aging') }}
group by all
order by as_of_date
