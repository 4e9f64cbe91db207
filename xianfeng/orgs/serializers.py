"""API shapes for organisations, members, contact points and guidance visits.

Serializers parse input and bound its types; they never save (every rule about the data and every write is in
services.py). Organisations and members use one serializer to read and to write, so each has one schema component.
Personal data leaves the API masked: `id_number_masked`, `phone_masked`; `id_number` and `phone` are write-only.
The full values are only in MemberUnmaskedSerializer, answered by the audited unmask action.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from xianfeng.core.api import StrictFieldsMixin, StrictInputSerializer

from .models import ContactPoint, GuidanceVisit, LinkRequest, Member, Organisation

# Largest primary key any supported database stores (a bigint); anything above is refused as bad input.
MAX_ID = 2**63 - 1
TEXT_MAX = 5000


def object_id(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


# ---- read (organisations and members: also written) ------------------------------------------------------------------


class OrganisationSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """An organisation, read and written (create, PATCH). The place in the tree is set on create and changed only
    through move; path, depth and full name follow from it."""

    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    parent = serializers.IntegerField(  # type: ignore[assignment]  # a declared field, popped by the metaclass
        source="parent_id", min_value=1, max_value=MAX_ID, allow_null=True,
        help_text="the parent organisation (null only for the root); on create the caller needs admin rights over it",
    )

    class Meta:
        model = Organisation
        fields = ["id", "code", "name", "kind", "kind_display", "parent", "depth", "full_name", "is_active",
                  "address", "latitude", "longitude", "system", "created_at"]
        read_only_fields = ["id", "depth", "full_name", "created_at"]
        extra_kwargs = {
            "latitude": {"min_value": -90, "max_value": 90},
            "longitude": {"min_value": -180, "max_value": 180},
        }

class OrgStatsSerializer(serializers.Serializer):
    org = serializers.IntegerField(help_text="the organisation")
    organisations = serializers.IntegerField(help_text="organisations in the subtree, itself included")
    members = serializers.IntegerField(
        help_text="members whose primary organisation is in the subtree, those transferred out (left) excluded"
    )
    members_by_status = serializers.DictField(child=serializers.IntegerField(),
                                              help_text="every member of the subtree by status, left included")
    members_by_category = serializers.DictField(child=serializers.IntegerField(),
                                                help_text="the `members` count by category")


class MemberSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A member, read (ID number and phone masked) and created (the person's fields given in full, never echoed)."""

    name = serializers.CharField(source="person.name", max_length=50)
    id_number = serializers.CharField(source="person.id_number", max_length=40, write_only=True,
                                      help_text="18-character 身份证号 (GB 11643); answered only masked")
    phone = serializers.CharField(source="person.phone", max_length=30, write_only=True, required=False,
                                  allow_blank=True, help_text="answered only masked")
    gender = serializers.CharField(source="person.gender", max_length=2, required=False, allow_blank=True,
                                   help_text="M or F; on create optional, and it must agree with the ID number")
    ethnicity = serializers.CharField(source="person.ethnicity", max_length=20, required=False, allow_blank=True)
    age = serializers.SerializerMethodField()
    id_number_masked = serializers.CharField(source="person.id_number_masked", read_only=True)
    phone_masked = serializers.CharField(source="person.phone_masked", read_only=True)
    org = serializers.IntegerField(source="org_id", min_value=1, max_value=MAX_ID,
                                   help_text="the primary organisation; on create the caller needs change rights over it")
    org_name = serializers.CharField(source="org.name", read_only=True)
    managing_org_name = serializers.CharField(source="managing_org.name", read_only=True, allow_null=True)
    on_the_job = serializers.BooleanField(default=True)

    class Meta:
        model = Member
        fields = ["id", "name", "gender", "age", "ethnicity", "id_number", "phone", "id_number_masked", "phone_masked",
                  "org", "org_name", "managing_org", "managing_org_name", "category", "status", "join_date",
                  "full_date", "education", "occupation", "on_the_job", "created_at", "updated_at"]
        read_only_fields = ["id", "managing_org", "created_at", "updated_at"]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_age(self, member: Member) -> int | None:
        birth = member.person.birth_date
        if birth is None:
            return None
        today = timezone.localdate()
        return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


class MemberUnmaskedSerializer(serializers.Serializer):
    """The unmasked personal data of one member (answered only by the audited unmask action)."""

    id = serializers.IntegerField()
    name = serializers.CharField(source="person.name")
    id_number = serializers.CharField(source="person.id_number", allow_null=True)
    phone = serializers.CharField(source="person.phone")


class ContactPointSerializer(serializers.ModelSerializer):
    leader_name = serializers.CharField(source="leader.name", read_only=True)
    org_name = serializers.CharField(source="org.name", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = ContactPoint
        fields = ["id", "leader", "leader_name", "leader_title", "org", "org_name", "kind", "kind_display", "start",
                  "end", "notes"]
        read_only_fields = fields


class GuidanceVisitSerializer(serializers.ModelSerializer):
    org = serializers.IntegerField(source="contact_point.org_id", read_only=True)
    org_name = serializers.CharField(source="contact_point.org.name", read_only=True)
    leader_name = serializers.CharField(source="contact_point.leader.name", read_only=True)

    class Meta:
        model = GuidanceVisit
        fields = ["id", "contact_point", "org", "org_name", "leader_name", "date", "notes", "follow_ups",
                  "follow_ups_done", "recorded_by", "created_at"]
        read_only_fields = fields


# ---- action input ---------------------------------------------------------------------------------------------------


class OrgMoveInput(StrictInputSerializer):
    # a declared field (the metaclass pops it), not Field.parent
    parent = object_id(help_text="the new parent; the caller needs admin rights over it")  # type: ignore[assignment]


class MemberTransferInput(StrictInputSerializer):
    to_org = object_id(help_text="the new primary organisation; the caller needs change rights over it")
    on = serializers.DateField(required=False, help_text="the transfer date, today if left out")
    reason = serializers.CharField(max_length=100, required=False, default="组织关系转接")


class GuidanceVisitCreateInput(StrictInputSerializer):
    contact_point = object_id(help_text="the contact point; the caller needs change rights over its organisation")
    date = serializers.DateField()
    notes = serializers.CharField(max_length=TEXT_MAX)
    follow_ups = serializers.CharField(max_length=TEXT_MAX, required=False, allow_blank=True, default="")


class LinkRequestSerializer(serializers.ModelSerializer):
    """A link request. The person's name is shown to those who may decide it, and to the requester once accepted:
    until then the requester learns nothing about the person beyond the ID number they typed (masked here)."""

    person_name = serializers.SerializerMethodField()
    id_number_masked = serializers.CharField(source="person.id_number_masked", read_only=True)
    org_name = serializers.CharField(source="org.full_name", read_only=True)
    holder_name = serializers.CharField(source="holder.full_name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = LinkRequest
        fields = ["id", "person", "person_name", "id_number_masked", "org", "org_name", "holder", "holder_name",
                  "member_fields", "note", "status", "requested_by", "created_at", "decided_by", "decided_at",
                  "decision_note", "member"]
        read_only_fields = fields


    def get_person_name(self, link: LinkRequest) -> str:
        from xianfeng.core.policy import allows

        request = self.context.get("request")
        user = request.user if request is not None else None
        if link.status == LinkRequest.Status.ACCEPTED or (user is not None and allows(user, "decide", link)):
            return link.person.name
        return ""


class LinkRequestInput(StrictInputSerializer):
    id_number = serializers.CharField(max_length=40, help_text="the person's 身份证号 (already registered)")
    org = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="an organisation the caller may change")
    join_date = serializers.DateField()
    full_date = serializers.DateField(required=False, allow_null=True, default=None)
    category = serializers.ChoiceField(choices=Member.Category.choices, default=Member.Category.FULL)
    status = serializers.ChoiceField(choices=Member.Status.choices, default=Member.Status.ACTIVE)
    education = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    occupation = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    on_the_job = serializers.BooleanField(default=True)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class LinkDecisionInput(StrictInputSerializer):
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
