-- grain: one row per calendar day, from 1 January of the first year with data to 31 December
-- of the last year with data. Time entries count (entries can come before the first invoice or
-- after the last due date), read from the stored entries rather than the view.
with

time_entries as (

    select * from {{ ref('int_time_entries_valued') }}

),

invoices as (

    select * from {{ ref('int_invoices_unioned') }}

),

payments as (

    select * from {{ ref('int_payments_unioned') }}

),

bounds as (

    select
        min(d) as first_day,
        max(d) as last_day
    from (
        select entry_date as d from time_entries
        union all select invoice_date from invoices
        union all select due_date from invoices
        union all select payment_date from payments
    )

),

spine as (

    select cast(unnest(generate_series(
        cast(date_trunc('year', coalesce(first_day, current_date)) as date),
        cast(date_trunc('year', coalesce(last_day, current_date)) + interval 1 year - interval 1 day as date),
        interval 1 day
    )) as date) as date_day
    from bounds

),

final as (

    select
        date_day,
        cast(year(date_day) as integer) as year_number,
        cast(quarter(date_day) as integer) as quarter_number,
        cast(month(date_day) as integer) as month_number,
        strftime(date_day, '%Y-%m') as year_month,
        cast(date_trunc('month', date_day) as date) as month_start,
        cast(last_day(date_day) as date) as month_end,
        cast(isodow(date_day) as integer) as iso_day_of_week,
        cast(weekofyear(date_day) as integer) as iso_week,
        isodow(date_day) in (6, 7) as is_weekend,
        date_day = last_day(date_day) as is_month_end
    from spine

)

select * from final
