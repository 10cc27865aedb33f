-- grain: one row per currency and month: the sales system's month-end rate to USD
with

fx_rates as (

    select * from {{ ref('stg_sales__fx_rates') }}

),

final as (

    select
        upper(currency) as currency,
        month,
        cast(strptime(month || '-01', '%Y-%m-%d') as date) as month_start,
        rate_to_usd
    from fx_rates

)

select * from final
