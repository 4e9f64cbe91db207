"""/api/v1/ endpoints for organisations, members, contact points and guidance visits.

Every read goes through the model's policy (orgs/policies.py; `restrict(user, action)` in
xianfeng.core.api.ScopedViewSetMixin) and the FilterSets the pages use; every write calls a service in services.py
with `actor=` the caller, and the service asks the policy again before it changes anything. An object outside the
caller's scope for the action — the object addressed in the URL or one named in the body — answers 404 exactly like
a missing one.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from xianfeng.core import policy
from xianfeng.core.api import Conflict, Pagination, ScopedReadOnlyViewSet, ScopedViewSetMixin
from xianfeng.core.audit import audit_record
from xianfeng.core.scoping import subtree_q
from xianfeng.core.throttle import (
    address_wait,
    clean_username,
    client_ip,
    login_failure_record,
    login_success_record,
    username_wait,
    wait_message,
)

from . import services
from .filters import ContactPointFilter, GuidanceVisitFilter, MemberFilter, OrganisationFilter
from .models import ContactPoint, GuidanceVisit, LinkRequest, Member, Organisation
from .selectors import link_requests
from .serializers import (
    ContactPointSerializer,
    GuidanceVisitCreateInput,
    GuidanceVisitSerializer,
    LinkDecisionInput,
    LinkRequestInput,
    LinkRequestSerializer,
    MemberSerializer,
    MemberTransferInput,
    MemberUnmaskedSerializer,
    OrganisationSerializer,
    OrgMoveInput,
    OrgStatsSerializer,
)

NOT_FOUND = OpenApiResponse(description="missing, or outside the caller's scope for this action (the same answer)")
BAD_INPUT = OpenApiResponse(description="bad input: {field: [reasons]}; nothing was written")
CLOSED = OpenApiResponse(description="the request was already accepted, declined or withdrawn")


def parse_input(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# ---- organisations ------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Organisations in the caller's scope"),
    retrieve=extend_schema(summary="One organisation", responses={200: OrganisationSerializer, 404: NOT_FOUND}),
)
class OrganisationViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          viewsets.GenericViewSet):
    queryset = Organisation.objects.all()
    serializer_class = OrganisationSerializer
    filterset_class = OrganisationFilter
    scope_actions = {"partial_update": "admin", "move": "admin"}

    @extend_schema(summary="Create an organisation under a parent the caller administers",
                   responses={201: OrganisationSerializer, 400: BAD_INPUT, 404: NOT_FOUND})
    def create(self, request):
        serializer = OrganisationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        parent_id = data.pop("parent_id")
        if parent_id is None:
            raise ValidationError({"parent": ["请选择上级组织"]})
        parent = policy.get_visible(Organisation, request.user, "admin", pk=parent_id)
        org = services.org_create(parent=parent, actor=request.user, **data)
        return Response(OrganisationSerializer(org).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Change an organisation's own fields (its parent only through move)",
                   responses={200: OrganisationSerializer, 400: BAD_INPUT, 404: NOT_FOUND})
    def partial_update(self, request, pk=None):
        org = self.get_object()
        serializer = OrganisationSerializer(org, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if data.pop("parent_id", org.parent_id) != org.parent_id:
            raise ValidationError({"parent": ["调整上级组织请使用 move（移动）"]})
        data = {key: value for key, value in data.items() if getattr(org, key) != value}
        if data:  # sending back what was read changes nothing and leaves no audit row
            org = services.org_update(org=org, actor=request.user, **data)
        return Response(OrganisationSerializer(org).data)

    @extend_schema(summary="Move an organisation and its subtree under a new parent", request=OrgMoveInput,
                   responses={200: OrganisationSerializer, 400: BAD_INPUT, 404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        org = self.get_object()
        data = parse_input(OrgMoveInput, request)
        new_parent = policy.get_visible(Organisation, request.user, "admin", pk=data["parent"])
        try:
            org = services.org_move(org=org, new_parent=new_parent, actor=request.user)
        except services.TreeError as exc:
            raise ValidationError({"parent": exc.messages}) from None
        return Response(OrganisationSerializer(org).data)

    @extend_schema(summary="The direct children of an organisation",
                   responses={200: OrganisationSerializer(many=True), 404: NOT_FOUND})
    @action(detail=True, methods=["get"])
    def children(self, request, pk=None):
        org = self.get_object()
        qs = self.filter_queryset(self.get_queryset().filter(parent=org))
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(OrganisationSerializer(page, many=True).data)

    @extend_schema(summary="Counts over an organisation's subtree", responses={200: OrgStatsSerializer, 404: NOT_FOUND},
                   filters=False)
    @action(detail=True, methods=["get"])
    def stats(self, request, pk=None):
        org = self.get_object()
        members = Member.objects.filter(subtree_q("org__path", org.path))
        by_status = dict.fromkeys(Member.Status.values, 0)
        by_status.update(members.order_by().values_list("status").annotate(n=Count("id")))
        by_category = dict.fromkeys(Member.Category.values, 0)
        by_category.update(members.active().order_by().values_list("category").annotate(n=Count("id")))
        data = {
            "org": org.pk,
            "organisations": Organisation.objects.descendants_of(org).count(),
            "members": sum(by_category.values()),
            "members_by_status": by_status,
            "members_by_category": by_category,
        }
        return Response(OrgStatsSerializer(data).data)


# ---- members ------------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Members in the caller's scope (ID number and phone masked)"),
    retrieve=extend_schema(summary="One member (ID number and phone masked)",
                           responses={200: MemberSerializer, 404: NOT_FOUND}),
)
class MemberViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Member.objects.select_related("person", "org", "managing_org")
    serializer_class = MemberSerializer
    filterset_class = MemberFilter
    scope_actions = {"transfer": "change", "unmask": "unmask"}

    @extend_schema(summary="Register a member: the person (found or created by ID number) joins an organisation",
                   responses={201: MemberSerializer, 400: BAD_INPUT, 404: NOT_FOUND})
    def create(self, request):
        serializer = MemberSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if isinstance(request.data, Mapping) and request.data.get("managing_org") is not None:
            # read-only here; dropping it silently would look like success
            raise ValidationError({"managing_org": ["新增党员时不能设置双管组织"]})
        data = dict(serializer.validated_data)
        person_fields = data.pop("person")
        org = policy.get_visible(Organisation, request.user, "change", pk=data.pop("org_id"))
        try:
            with transaction.atomic():  # the person and the member are written together or not at all
                person = services.person_upsert(actor=request.user, **person_fields)
                member = services.member_create(person=person, org=org, actor=request.user, **data)
        except services.PersonOutOfScope as exc:
            # Nothing was written. A non-member may be linked with the consent of the organisation that answers for
            # the person: the answer says where to ask.
            if exc.is_member:  # a member elsewhere moves by a transfer there, as before
                raise ValidationError({"id_number": ["该身份证号对应的人员已是党员"]}) from None
            return Response({"id_number": exc.messages,
                             "link_request": [request.build_absolute_uri("/api/v1/link-requests/")]},
                            status=status.HTTP_409_CONFLICT)
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and "person" in exc.error_dict:
                raise ValidationError({"id_number": ["该身份证号对应的人员已是党员"]}) from None
            raise
        member = Member.objects.select_related("person", "org", "managing_org").get(pk=member.pk)
        return Response(MemberSerializer(member).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Transfer a member's primary organisation (组织关系转接)", request=MemberTransferInput,
                   responses={200: MemberSerializer, 400: BAD_INPUT, 404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def transfer(self, request, pk=None):
        member = self.get_object()
        data = parse_input(MemberTransferInput, request)
        to_org = policy.get_visible(Organisation, request.user, "change", pk=data["to_org"])
        services.member_transfer(member=member, to_org=to_org, on=data.get("on") or timezone.localdate(),
                                 reason=data["reason"], actor=request.user)
        member = Member.objects.select_related("person", "org", "managing_org").get(pk=member.pk)
        return Response(MemberSerializer(member).data)

    @extend_schema(summary="The member's full ID number and phone; the view is audited",
                   description="Allowed where the caller may unmask personal data of the member's primary "
                               "organisation; anyone else gets 404, as for a missing member.",
                   request=None, responses={200: MemberUnmaskedSerializer, 404: NOT_FOUND})
    @action(detail=True, methods=["post"])
    def unmask(self, request, pk=None):
        member = self.get_object()  # in the caller's `unmask` scope (Member policy), else 404
        audit_record(by=request.user, action="unmask", obj=member, ip=client_ip(request),
                     summary=f"查看党员身份证号和手机号 {member.person.name}")
        response = Response(MemberUnmaskedSerializer(member).data)
        response["Cache-Control"] = "no-store"
        return response


# ---- link requests ------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Link requests the caller made, may see, or may decide"),
    retrieve=extend_schema(summary="One link request", responses={200: LinkRequestSerializer, 404: NOT_FOUND}),
)
class LinkRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """关联申请: ask the organisation that answers for a person outside the caller's scope to let the person become a
    member of one of the caller's organisations. Until the holder accepts, nothing about the person changes."""

    queryset = LinkRequest.objects.none()  # for the schema (typed {id}); requests read selectors.link_requests()
    serializer_class = LinkRequestSerializer
    pagination_class = Pagination

    def get_queryset(self):
        qs = link_requests(self.request.user)
        if self.request.query_params.get("status") in LinkRequest.Status.values:
            qs = qs.filter(status=self.request.query_params["status"])
        return qs

    # The LinkRequest policy's action for each viewset action: out of it is 404, as for a missing request.
    policy_actions = {"accept": "decide", "decline": "decide", "cancel": "cancel"}

    def get_object(self):
        action = self.policy_actions.get(getattr(self, "action", None) or "", "view")
        return policy.get_visible(self.get_queryset(), self.request.user, action, pk=self.kwargs.get("pk"))

    @extend_schema(summary="Ask for a person (by ID number) to become a member of an organisation the caller changes",
                   request=LinkRequestInput, responses={201: LinkRequestSerializer, 400: BAD_INPUT, 404: NOT_FOUND})
    def create(self, request):
        data = parse_input(LinkRequestInput, request)
        org = policy.get_visible(Organisation, request.user, "change", pk=data.pop("org"))
        link = services.link_request_create(actor=request.user, org=org, **data)
        return Response(LinkRequestSerializer(link, context={"request": request}).data, status=status.HTTP_201_CREATED)

    def _decide(self, request, accept: bool):
        link = self.get_object()
        data = parse_input(LinkDecisionInput, request)
        try:
            link = services.link_request_decide(actor=request.user, link=link, accept=accept, note=data["note"])
        except services.LinkRequestClosed as exc:
            raise Conflict(detail=exc.messages[0]) from None
        return Response(LinkRequestSerializer(link, context={"request": request}).data)

    @extend_schema(summary="Accept: the person becomes a member of the organisation asked for",
                   request=LinkDecisionInput, responses={200: LinkRequestSerializer, 404: NOT_FOUND, 409: CLOSED})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._decide(request, True)

    @extend_schema(summary="Decline: nothing about the person changes", request=LinkDecisionInput,
                   responses={200: LinkRequestSerializer, 404: NOT_FOUND, 409: CLOSED})
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        return self._decide(request, False)

    @extend_schema(summary="Withdraw a pending request (the requester)", request=None,
                   responses={200: LinkRequestSerializer, 404: NOT_FOUND, 409: CLOSED})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        link = self.get_object()
        try:
            link = services.link_request_cancel(actor=request.user, link=link)
        except services.LinkRequestClosed as exc:
            raise Conflict(detail=exc.messages[0]) from None
        return Response(LinkRequestSerializer(link, context={"request": request}).data)


# ---- contact points and guidance visits ---------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Contact points (联系点) in the caller's scope"),
    retrieve=extend_schema(summary="One contact point", responses={200: ContactPointSerializer, 404: NOT_FOUND}),
)
class ContactPointViewSet(ScopedReadOnlyViewSet):
    queryset = ContactPoint.objects.select_related("leader", "org").order_by("id")
    serializer_class = ContactPointSerializer
    filterset_class = ContactPointFilter


@extend_schema_view(
    list=extend_schema(summary="Guidance visits on contact points in the caller's scope"),
    retrieve=extend_schema(summary="One guidance visit", responses={200: GuidanceVisitSerializer, 404: NOT_FOUND}),
)
class GuidanceVisitViewSet(ScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                           viewsets.GenericViewSet):
    queryset = GuidanceVisit.objects.select_related("contact_point__org", "contact_point__leader")
    serializer_class = GuidanceVisitSerializer
    filterset_class = GuidanceVisitFilter

    @extend_schema(summary="Record a guidance visit on a contact point", request=GuidanceVisitCreateInput,
                   responses={201: GuidanceVisitSerializer, 400: BAD_INPUT, 404: NOT_FOUND})
    def create(self, request):
        data = parse_input(GuidanceVisitCreateInput, request)
        contact_point = policy.get_visible(ContactPoint.objects.select_related("leader", "org"), request.user,
                                           "change", pk=data.pop("contact_point"))
        visit = services.guidance_visit_record(contact_point=contact_point, actor=request.user, **data)
        return Response(GuidanceVisitSerializer(visit).data, status=status.HTTP_201_CREATED)


# ---- token --------------------------------------------------------------------------------------------------------


class ThrottledObtainAuthToken(ObtainAuthToken):
    """POST username + password → {"token": …}. Rate-limited per address (DRF's cache throttle) and, like the sign-in
    page, locked per username with growing delays, and per address for unknown usernames (core/throttle.py; counted
    in the database, so every server process sees them)."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema(
        summary="Exchange a username and password for an API token",
        description="Send the token back as `Authorization: Token <token>`.",
        request=AuthTokenSerializer,
        responses={
            200: inline_serializer("TokenResponse", {"token": serializers.CharField()}),
            400: BAD_INPUT,
            429: OpenApiResponse(description="too many attempts"),
        },
        auth=[],
    )
    def post(self, request, *args, **kwargs):
        username = clean_username(request.data.get("username") if hasattr(request.data, "get") else None)
        ip = client_ip(request)
        wait = username_wait(username)
        if wait:
            raise exceptions.Throttled(wait=wait, detail=wait_message(wait))
        try:
            response = super().post(request, *args, **kwargs)
        except exceptions.ValidationError:
            login_failure_record(username=username, ip=ip, where="API ")
            wait = address_wait(ip)
            if wait:
                raise exceptions.Throttled(wait=wait, detail=wait_message(wait)) from None
            raise
        login_success_record(username=username)
        return response


def register(router) -> None:
    router.register("orgs", OrganisationViewSet, basename="org")
    router.register("members", MemberViewSet, basename="member")
    router.register("contact-points", ContactPointViewSet, basename="contact-point")
    router.register("guidance-visits", GuidanceVisitViewSet, basename="guidance-visit")
    router.register("link-requests", LinkRequestViewSet, basename="link-request")
