-- grain: one row per client (client_code)
with

clients as (

    select * from {{ ref('int_clients_conformed') }}

),

customers as (

    select * from {{ ref('stg_sales__customers') }}

),

matters as (

    select * from {{ ref('int_matters_conformed') }}

),

matter_counts as (

    select client_code, count(*) as matter_count
    from matters
    group by client_code

),

final as (

    select
        -- keys
        c.client_code,
        c.ledes_client_id,
        c.source_system,
        c.source_client_id,
        -- attributes
        c.client_name,
        c.office,
        c.currency,
        c.ebilling_platform,
        c.is_ebilled,
        c.payment_terms_days,
        cast(coalesce(mc.matter_count, 0) as bigint) as matter_count,
        s.customer_id is not null as is_in_sales,
        s.customer_name as sales_customer_name
    from clients as c
    left join matter_counts as mc on mc.client_code = c.client_code
    left join customers as s on s.customer_id = c.client_code

)

select * from final
