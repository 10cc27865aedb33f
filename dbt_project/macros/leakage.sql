{# The columns of int_leakage_events for the leakage rows of `events` (event key, category,
   date, matter, timekeeper, invoice, detail, currency, hours, amount_local): the event month,
   the matter's client, billing partner and office, and amount_usd at the month-end rate of
   the event month. One definition for both parts, int_leakage_time_events and
   int_leakage_billing_events, which int_leakage_events unions. #}
{% macro leakage_events_enriched(events, matters, fx) %}
    select
        u.leakage_event_key,
        u.leakage_category,
        u.event_date,
        strftime(u.event_date, '%Y-%m') as event_month,
        u.matter_number,
        m.client_code,
        m.billing_partner_timekeeper_id,
        m.office,
        u.timekeeper_id,
        u.invoice_number,
        u.detail,
        u.currency,
        cast(u.hours as decimal(18, 4)) as hours,
        cast(u.amount_local as decimal(18, 2)) as amount_local,
        {{ to_usd('u.amount_local', 'fx.rate_to_usd') }} as amount_usd
    from {{ events }} as u
    left join {{ matters }} as m on m.matter_number = u.matter_number
    left join {{ fx }} as fx
        on fx.currency = upper(u.currency) and fx.month = strftime(u.event_date, '%Y-%m')
{% endmacro %}
