-- grain: one row per timekeeper_id and valid_from (effective-dated standard hourly rate)
with

clio_rates as (

    select * from {{ ref('stg_clio__activity_rates') }}

),

actionstep_rates as (

    select * from {{ ref('stg_actionstep__rates') }}

),

timekeepers as (

    select * from {{ ref('int_timekeepers_conformed') }}

),

unioned as (

    select t.timekeeper_id, r.rate, r.effective_date, 'clio' as source_system, r.activity_rate_id as source_rate_id
    from clio_rates as r
    inner join timekeepers as t
        on t.source_system = 'clio' and t.source_timekeeper_id = r.user_id

    union all

    select t.timekeeper_id, r.rate, r.effective_date, 'actionstep', r.rate_id
    from actionstep_rates as r
    inner join timekeepers as t
        on t.source_system = 'actionstep' and t.source_timekeeper_id = r.participant_id

),

final as (

    select
        timekeeper_id,
        effective_date as valid_from,
        lead(effective_date) over (partition by timekeeper_id order by effective_date) as valid_to,
        rate as standard_rate,
        source_system,
        source_rate_id
    from unioned

)

select * from final
