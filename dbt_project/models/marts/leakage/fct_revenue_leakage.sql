-- grain: one row per leakage category x month x billing partner x client x matter: value lost on
-- the way from worked to collected (int_leakage_events), in the matter's currency and in USD.
-- Categories are stages of one chain and can overlap (an e-billing cut later written off shows
-- as EBILLING_REDUCTION when cut and AR_WRITE_OFF when written off): compare, don't add across.
with

events as (

    select * from {{ ref('int_leakage_events') }}

),

rolled as (

    select
        leakage_category,
        event_month,
        billing_partner_timekeeper_id,
        client_code,
        matter_number,
        any_value(office) as office,
        any_value(currency) as currency,
        count(*) as event_count,
        sum(hours) as hours,
        sum(amount_local) as amount_local,
        sum(amount_usd) as amount_usd
    from events
    group by leakage_category, event_month, billing_partner_timekeeper_id, client_code, matter_number

),

final as (

    select
        -- keys
        leakage_category || '|' || event_month || '|' || coalesce(billing_partner_timekeeper_id, '')
            || '|' || coalesce(client_code, '') || '|' || coalesce(matter_number, '') as leakage_key,
        leakage_category,
        event_month as month,
        cast(strptime(event_month || '-01', '%Y-%m-%d') as date) as leakage_date,
        billing_partner_timekeeper_id,
        client_code,
        matter_number,
        office,

        -- amounts
        cast(event_count as bigint) as event_count,
        cast(hours as decimal(18, 4)) as hours,
        currency,
        cast(amount_local as decimal(18, 2)) as amount_local,
        cast(amount_usd as decimal(18, 2)) as amount_usd
    from rolled

)

select * from final
