{#- Tie-out: the model has as many rows (optionally filtered by `where`) as `compare_model`
    (filtered by `compare_where`). -#}
{% test row_count_matches(model, compare_model, where=none, compare_where=none) %}
select l.n as model_rows, r.n as compare_rows
from (select count(*) as n from {{ model }} {% if where %}where {{ where }}{% endif %}) as l
cross join (select count(*) as n from {{ compare_model }} {% if compare_where %}where {{ compare_where }}{% endif %}) as r
where l.n <> r.n
{% endtest %}
