{#- Tie-out: the sum of the column equals the sum of `compare_column` in `compare_model`, to the
    cent (or within `tolerance`), optionally per group (`group_by` on both sides) and filtered
    (`where`, `compare_where`). Fails with one row per group that differs. -#}
{% test sum_matches(model, column_name, compare_model, compare_column, group_by=none, where=none, compare_where=none, tolerance=0) %}
with
left_side as (
    select {% if group_by %}{{ group_by }} as group_key, {% else %}'all' as group_key, {% endif %}
        sum({{ column_name }}) as left_total
    from {{ model }}
    {% if where %}where {{ where }}{% endif %}
    group by 1
),
right_side as (
    select {% if group_by %}{{ group_by }} as group_key, {% else %}'all' as group_key, {% endif %}
        sum({{ compare_column }}) as right_total
    from {{ compare_model }}
    {% if compare_where %}where {{ compare_where }}{% endif %}
    group by 1
)
select
    coalesce(l.group_key, r.group_key) as group_key,
    l.left_total,
    r.right_total,
    coalesce(l.left_total, 0) - coalesce(r.right_total, 0) as difference
from left_side as l
full outer join right_side as r on r.group_key = l.group_key
where abs(coalesce(l.left_total, 0) - coalesce(r.right_total, 0)) > {{ tolerance }}
{% endtest %}
