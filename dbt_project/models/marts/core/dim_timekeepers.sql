-- grain: one row per timekeeper (timekeeper_id)
with

timekeepers as (

    select * from {{ ref('int_timekeepers_conformed') }}

),

rates as (

    select * from {{ ref('int_timekeeper_rates_effective') }}

),

latest_rates as (

    select timekeeper_id, standard_rate, valid_from
    from rates
    where valid_to is null

),

final as (

    select
        -- keys
        t.timekeeper_id,
        t.source_system,
        t.source_timekeeper_id,
        -- attributes
        t.timekeeper_name,
        t.first_name,
        t.last_name,
        t.classification,
        t.timekeeper_role,
        t.office,
        t.is_enabled,
        -- amounts
        coalesce(r.standard_rate, t.current_rate) as current_standard_rate,
        r.valid_from as current_rate_valid_from
    from timekeepers as t
    left join latest_rates as r on r.timekeeper_id = t.timekeeper_id

)

select * from final
