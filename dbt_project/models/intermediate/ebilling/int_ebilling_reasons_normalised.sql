-- grain: one row per distinct raw reason text (rejections and line adjustments) with its
-- internal reason_code from the ebilling_reason_patterns seed
with

status_history as (

    select * from {{ ref('stg_ebilling__status_history') }}

),

adjustments as (

    select * from {{ ref('stg_ebilling__adjustments') }}

),

patterns as (

    select * from {{ ref('ebilling_reason_patterns') }}

),

reason_texts as (

    select distinct reason_text from status_history where reason_text is not null
    union
    select distinct reason_text from adjustments where reason_text is not null

),

matched as (

    select
        r.reason_text,
        p.reason_code,
        p.reason_label,
        p.priority,
        row_number() over (partition by r.reason_text order by p.priority) as match_rank
    from reason_texts as r
    inner join patterns as p
        on regexp_matches(lower(r.reason_text), p.pattern)

),

final as (

    select reason_text, reason_code, reason_label, priority as matched_priority
    from matched
    where match_rank = 1

)

select * from final
