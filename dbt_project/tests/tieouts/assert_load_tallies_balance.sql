-- Why: nothing is dropped silently. For every load and resource the ingestion recorded
-- received = loaded + quarantined (counts and money), and the quarantine table holds exactly the
-- quarantined count for that load.
with

tallies as (

    select * from {{ ref('int_load_tallies_unioned') }}

),

quarantine as (

    select load_id, source, resource, count(*) as quarantine_rows
    from {{ ref('int_quarantined_records_unioned') }}
    group by all

)

select t.*, coalesce(q.quarantine_rows, 0) as quarantine_rows
from tallies as t
left join quarantine as q
    on q.load_id = t.load_id and q.source = t.source and q.resource = t.resource
where t.received_count <> t.loaded_count + t.quarantined_count
   or coalesce(t.money_received, 0) <> coalesce(t.money_loaded, 0) + coalesce(t.money_quarantined, 0)
   or t.quarantined_count <> coalesce(q.quarantine_rows, 0)
