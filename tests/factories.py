"""factory_boy factories for every model the tests need."""

import factory
from django.utils import timezone

from messaging.models import Conversation, Message, Participant
from spaces.models import Space
from virtual_office.models import Company, User

PASSWORD = "pw-test-123"


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Company {n}")
    slug = factory.Sequence(lambda n: f"company-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Faker("name")
    company = factory.SubFactory(CompanyFactory)
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class SpaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Space

    company = factory.SubFactory(CompanyFactory)
    name = factory.Sequence(lambda n: f"Space {n}")
    capacity = 8


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    company = factory.SubFactory(CompanyFactory)
    kind = Conversation.Kind.GROUP
    title = factory.Sequence(lambda n: f"Group {n}")


class ParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participant

    conversation = factory.SubFactory(ConversationFactory)
    user = factory.SubFactory(UserFactory)


def group_with(*users: User, title: str = "Group") -> Conversation:
    conversation = ConversationFactory(company=users[0].company, title=title)
    for user in users:
        ParticipantFactory(conversation=conversation, user=user)
    return conversation


def post(conversation: Conversation, sender: User, body: str = "hello") -> Message:
    from messaging import services

    message, _ = services.message_send(actor=sender, conversation=conversation, body=body)
    return message


def now() -> timezone.datetime:
    return timezone.now()
