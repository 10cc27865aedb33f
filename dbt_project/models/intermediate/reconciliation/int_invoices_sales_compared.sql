-- grain: one row per non-void LPM invoice (invoice_number), compared with its matched sales
-- booking. The invoice side is USD at the month-end rate of the invoice month,
-- round(total x rate, 2). Differences are attributed in the contract's order
-- (docs/demo-firm.md, "Variance classification"):
--   TIMING            booking period <> invoice month (moves the amount; zero at invoice grain)
--   SPLIT_ALLOCATION  booking split <> bill split: (booking split - bill split)/100 x the matter
--                     total, fees and expenses each rounded to the cent, then to USD
--   RATE_DEFINITION   booking fees <> invoice fees (after the split's fee effect), in USD
--   ROUNDING_FX       what remains, when the booking's fx rate <> the month-end rate or the
--                     remainder is at most 0.05
--   UNEXPLAINED       anything else
-- Duplicate and extra bookings of the invoice are added by int_sales_variance_legs.
with

invoices as (

    select * from {{ ref('int_invoices_unioned') }}

),

invoice_lines as (

    select * from {{ ref('int_invoice_lines_unioned') }}

),

fx as (

    select * from {{ ref('int_fx_month_end_rates') }}

),

bookings as (

    select * from {{ ref('int_sales_bookings_matched') }}

),

line_totals as (

    select
        invoice_number,
        sum(case when line_type in ('F', 'IF') then line_total else 0 end) as fees_local,
        sum(case when line_type in ('E', 'IE') then line_total else 0 end) as expenses_local
    from invoice_lines
    group by invoice_number

),

live as (

    select
        i.*,
        strftime(i.invoice_date, '%Y-%m') as invoice_month,
        cast(coalesce(lt.fees_local, 0) as decimal(18, 2)) as fees_local,
        cast(coalesce(lt.expenses_local, 0) as decimal(18, 2)) as expenses_local
    from invoices as i
    left join line_totals as lt on lt.invoice_number = i.invoice_number
    where i.status <> 'void'

),

-- a split matter is billed as one invoice per payer for the same matter and period; the
-- matter total is the sum over those invoices (= the unsplit work)
matter_totals as (

    select
        invoice_number,
        sum(fees_local) over matter_period as matter_fees_local,
        sum(expenses_local) over matter_period as matter_expenses_local
    from live
    window matter_period as (
        partition by matter_number, invoice_date, billing_start_date, billing_end_date
    )

),

compared as (

    select
        l.invoice_number,
        l.source_system,
        l.office,
        l.matter_number,
        l.payer_client_code,
        l.invoice_date,
        l.invoice_month,
        l.currency,
        l.total_amount,
        l.fees_local as invoice_fees_local,
        l.expenses_local as invoice_expenses_local,
        l.split_percentage as invoice_split_percentage,
        mt.matter_fees_local,
        mt.matter_expenses_local,
        fx.rate_to_usd as month_end_rate,
        {{ to_usd('l.total_amount', 'fx.rate_to_usd') }} as invoice_usd,
        b.booking_id,
        b.period as booking_period,
        b.fees_local as booking_fees_local,
        b.expenses_local as booking_expenses_local,
        b.split_percentage as booking_split_percentage,
        b.fx_rate as booking_fx_rate,
        b.amount_usd as booking_usd
    from live as l
    inner join matter_totals as mt on mt.invoice_number = l.invoice_number
    left join fx on fx.currency = upper(l.currency) and fx.month = l.invoice_month
    left join bookings as b on b.invoice_number = l.invoice_number and b.booking_role = 'matched'

),

split_effect as (

    select
        *,
        booking_id is not null as has_booking,
        coalesce(booking_period <> invoice_month, false) as is_timing,
        case when booking_split_percentage <> invoice_split_percentage
            then cast(round((booking_split_percentage - invoice_split_percentage) * matter_fees_local / 100, 2)
                      as decimal(18, 2))
            else 0 end as split_fees_local,
        case when booking_split_percentage <> invoice_split_percentage
            then cast(round((booking_split_percentage - invoice_split_percentage) * matter_expenses_local / 100, 2)
                      as decimal(18, 2))
            else 0 end as split_expenses_local
    from compared

),

attributed as (

    select
        *,
        case when has_booking
            then {{ to_usd('split_fees_local + split_expenses_local', 'month_end_rate') }}
            else 0 end as split_allocation_usd,
        case when has_booking and booking_fees_local - split_fees_local <> invoice_fees_local
            then {{ to_usd('booking_fees_local - split_fees_local - invoice_fees_local', 'month_end_rate') }}
            else 0 end as rate_definition_usd
    from split_effect

),

remainder as (

    select
        *,
        case when has_booking
            then cast(booking_usd - invoice_usd - split_allocation_usd - rate_definition_usd as decimal(18, 2))
            else 0 end as remainder_usd
    from attributed

),

rounding_checked as (

    select
        *,
        has_booking
            and (coalesce(booking_fx_rate <> month_end_rate, false) or abs(remainder_usd) <= 0.05)
            as is_rounding_fx
    from remainder

),

final as (

    select
        *,
        case when is_rounding_fx then remainder_usd else 0 end as rounding_fx_usd,
        remainder_usd - case when is_rounding_fx then remainder_usd else 0 end as unexplained_usd
    from rounding_checked

)

select * from final
