{#- The AR aging bucket for an age in days. Ages at or below 30 days (including not yet due,
    i.e. negative days past due) are 'current_0_30'; then 31_60, 61_90, 91_120, over_120. -#}
{% macro aging_bucket(days) -%}
    case
        when {{ days }} is null then null
        when {{ days }} <= 30 then '0-30'
        when {{ days }} <= 60 then '31-60'
        when {{ days }} <= 90 then '61-90'
        when {{ days }} <= 120 then '91-120'
        else '120+'
    end
{%- endmacro %}

{#- Sort order of the bucket labels above (1..5). -#}
{% macro aging_bucket_order(days) -%}
    case
        when {{ days }} is null then null
        when {{ days }} <= 30 then 1
        when {{ days }} <= 60 then 2
        when {{ days }} <= 90 then 3
        when {{ days }} <= 120 then 4
        else 5
    end
{%- endmacro %}

{#- A ratio (not money) rounded to `scale` places as DECIMAL(18, scale); null, not an error,
    when the denominator is null or zero. -#}
{% macro safe_ratio(numerator, denominator, scale=4) -%}
    case when {{ denominator }} is null or {{ denominator }} = 0 then null
         else cast(round(cast({{ numerator }} as double) / cast({{ denominator }} as double), {{ scale }})
                   as decimal(18, {{ scale }})) end
{%- endmacro %}
