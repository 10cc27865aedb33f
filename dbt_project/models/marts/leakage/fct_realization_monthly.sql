-- grain: one row per invoice month x billing partner x client x matter: the realization of the
-- work billed that month (invoice cohort), worked at standard -> billed -> approved -> collected
-- to date, in USD at each invoice's month-end rate.
with

by_invoice as (

    select * from {{ ref('int_realization_by_invoice') }}

),

rolled as (

    select
        invoice_month,
        billing_partner_timekeeper_id,
        client_code,
        matter_number,
        any_value(office) as office,
        count(*) as invoice_count,
        sum(hours_worked) as hours_worked,
        sum(worked_value_usd) as worked_value_usd,
        sum(billed_fees_usd) as billed_fees_usd,
        sum(billed_usd) as billed_usd,
        sum(approved_usd) as approved_usd,
        sum(pending_approval_usd) as pending_approval_usd,
        sum(collected_usd) as collected_usd
    from by_invoice
    group by invoice_month, billing_partner_timekeeper_id, client_code, matter_number

),

final as (

    select
        -- keys
        invoice_month || '|' || coalesce(billing_partner_timekeeper_id, '') || '|'
            || coalesce(client_code, '') || '|' || coalesce(matter_number, '') as realization_key,
        invoice_month,
        cast(strptime(invoice_month || '-01', '%Y-%m-%d') as date) as month_start,
        billing_partner_timekeeper_id,
        client_code,
        matter_number,
        office,

        -- amounts (USD)
        cast(invoice_count as bigint) as invoice_count,
        cast(hours_worked as decimal(18, 4)) as hours_worked,
        cast(worked_value_usd as decimal(18, 2)) as worked_value_usd,
        cast(billed_fees_usd as decimal(18, 2)) as billed_fees_usd,
        cast(billed_usd as decimal(18, 2)) as billed_usd,
        cast(approved_usd as decimal(18, 2)) as approved_usd,
        cast(pending_approval_usd as decimal(18, 2)) as pending_approval_usd,
        cast(collected_usd as decimal(18, 2)) as collected_usd,

        -- ratios
        cast({{ safe_ratio('billed_fees_usd', 'worked_value_usd') }} as decimal(18, 4)) as billing_realization,
        cast({{ safe_ratio('approved_usd', 'billed_usd - pending_approval_usd') }} as decimal(18, 4)) as approval_realization,
        cast({{ safe_ratio('collected_usd', 'billed_usd') }} as decimal(18, 4)) as collection_realization,
        cast(case when worked_value_usd = 0 or billed_usd = 0 then null
                  else round(cast(billed_fees_usd as decimal(38, 10)) / worked_value_usd
                             * collected_usd / billed_usd, 4) end as decimal(18, 4)) as overall_realization
    from rolled

)

select * from final
